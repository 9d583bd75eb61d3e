"""What each kind of step does, against the environment's real parts.

Each action reads the state it is about to change and acts only where it
differs (the backends' methods are idempotent), so re-running an action that
was in flight when a runner died is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from slipway.actions.context import StepContext
from slipway.actions.database import DatabaseActions
from slipway.actions.flags import FlagActions
from slipway.actions.media import MediaActions
from slipway.actions.roles import RoleActions, passed_env
from slipway.actions.routes import RouteActions
from slipway.actions.waits import Waits
from slipway.backends.health import health_check, instance_url
from slipway.checks.health import wait_healthy
from slipway.checks.http import HttpCheck
from slipway.errors import CheckFailed, PermanentError
from slipway.router.base import MaintenanceRouter
from slipway.spec.strategy import BlueGreenSpec
from slipway.steps import (
    Health,
    Maintenance,
    Nothing,
    OfSlot,
    OfVersion,
    Smoke,
    Start,
    Switch,
    params_of,
)
from slipway.targets.base import InstanceSpec

Result = dict[str, Any]


class Actions:
    def __init__(self, context: StepContext, *, waits: Waits) -> None:
        self._env = context.env
        self._b = context.backends
        self._store = context.store
        self._clock = context.clock
        self._deployment_id = context.deployment_id
        self._waits = waits  # pauses, gates, holds and analyses; closed with these actions
        # handlers of one kind each: typed by the kind's parameters (steps.PARAMS)
        self._timed: dict[str, Callable[[Any, datetime], Result]] = {
            "pause": self._waits.pause,
            "gate": self._waits.gate,
            "hold": self._waits.hold,
            "analysis": self._waits.analysis,
            "record_baseline": self._waits.record_baseline,
            "post_promotion": self._waits.post_promotion,
        }
        self._table: dict[str, Callable[[Any], Result]] = {
            "prepare_release": self.prepare_release,
            "ensure_infra": self.ensure_infra,
            "start_instance": self.start_instance,
            "health_check": self.health_check,
            "enable_instance": self.enable_instance,
            "drain_instance": self.drain_instance,
            "stop_instance": self.stop_instance,
            "mark_current": self.mark_current,
            "standby_instance": self.standby_instance,
            "switch_traffic": self.switch_traffic,
            "smoke_test": self.smoke_test,
            "maintenance": self.maintenance,
        }
        database = DatabaseActions(context)
        self._table.update(
            backup_database=database.backup_database,
            rehearse_migration=database.rehearse_migration,
            migrate_database=database.migrate_database,
            restore_database=database.restore_database,
            migrate_back=database.migrate_back,
        )
        self._table["backup_media"] = MediaActions(context).backup_media
        roles = RoleActions(context)
        self._table.update(
            start_process=roles.start_process,
            check_process=roles.check_process,
            stop_process=roles.stop_process,
        )
        flags = FlagActions(context)
        self._table.update(set_flag=flags.set_flag, verify_flag=flags.verify_flag)
        routes = RouteActions(context)
        self._table.update(
            set_header_route=routes.set_header_route,
            clear_header_routes=routes.clear_header_routes,
        )

    def run(self, kind: str, stored: Mapping[str, Any], *, started: datetime) -> Result:
        """Run one step from its stored parameters; ``started`` is when it first started
        (waits count from there)."""
        params = params_of(kind, stored)
        if kind in self._timed:
            return self._timed[kind](params, started)
        return self._table[kind](params)

    def close(self) -> None:
        self._waits.close()

    def prepare_release(self, params: OfVersion) -> Result:
        release = self._b.releases.prepare(params.version)
        self._store.update_deployment(self._deployment_id, release_digest=release.digest)
        if release.image is not None:
            return {"digest": release.digest, "image": release.image}
        return {"digest": release.digest, "path": str(release.path)}

    def ensure_infra(self, params: Nothing) -> Result:
        self._b.target.ensure_up()
        self._b.router.ensure_up()
        return {}

    def start_instance(self, params: Start) -> Result:
        version, port = params.version, int(params.port)
        release = self._b.releases.prepare(version)
        process = self._env.process
        self._b.router.disable(params.slot)  # never send traffic to a starting process
        self._b.target.start(
            InstanceSpec(
                slot=params.slot,
                port=port,
                version=version,
                release_dir=release.path,
                command=[a.replace("{port}", str(port)) for a in process.command],
                env=passed_env(process.env, process.pass_env),
                stop_timeout_s=process.stop_timeout_s,
                image=release.image,
                deployment=self._deployment_id,
            )
        )
        return {}

    def health_check(self, params: Health) -> Result:
        health = self._env.health
        check = health_check(self._env, port=int(params.port), slot=params.slot)
        # A slot still running the release it goes back to (on standby) needs one passing probe.
        quick = bool(params.quick)
        result = wait_healthy(
            check,
            interval_s=health.interval_s,
            timeout_s=health.timeout_s,
            healthy_threshold=1 if quick else health.healthy_threshold,
            unhealthy_threshold=health.unhealthy_threshold,
            clock=self._clock,
        )
        if not result.passed:  # wait_healthy raises on failure; this guards its contract
            raise CheckFailed(f"{params.slot} is not healthy", evidence=result.evidence)
        return {"evidence": result.evidence}

    def enable_instance(self, params: OfSlot) -> Result:
        self._b.router.enable(params.slot)
        return {}

    def standby_instance(self, params: OfSlot) -> Result:
        self._b.router.standby(params.slot)
        return {}

    def switch_traffic(self, params: Switch) -> Result:
        ready = {str(k): int(v) for k, v in params.ready.items()}
        self._b.router.switch(ready=ready, drain=list(params.drain))
        return {}

    def smoke_test(self, params: Smoke) -> Result:
        strategy = self._env.strategy
        assert isinstance(strategy, BlueGreenSpec)
        smoke = strategy.smoke[int(params.index)]
        check = HttpCheck(
            instance_url(self._env, str(params.slot), int(params.port), smoke.path),
            expect_status=smoke.expect_status,
            expect_body=smoke.expect_body,
            timeout_s=smoke.timeout_s,
            name=f"smoke {params.slot}",
        )
        result = check.probe()
        if not result.passed:
            raise CheckFailed(f"smoke test of {params.slot} failed", evidence=result.evidence)
        return {"evidence": result.evidence}

    def maintenance(self, params: Maintenance) -> Result:
        router = self._b.router
        if not isinstance(router, MaintenanceRouter):
            raise PermanentError("this environment's router cannot serve a maintenance page")
        router.set_maintenance(params.on)
        self._store.event(
            self._deployment_id,
            "maintenance page on: users get 503 and Retry-After" if params.on else
            "maintenance page off: users reach the app again",
            level="warning" if params.on else "info",
        )  # fmt: skip
        return {"on": params.on}

    def drain_instance(self, params: OfSlot) -> Result:
        timeout = self._env.router.drain_timeout_s
        drained = self._b.router.drain(params.slot, timeout_s=timeout)
        if not drained:
            self._store.event(
                self._deployment_id,
                f"{params.slot} still had requests after {timeout:g}s of draining",
                level="warning",
            )
        return {"drained": drained}

    def stop_instance(self, params: OfSlot) -> Result:
        self._b.router.disable(params.slot)
        self._b.target.stop(params.slot)
        return {}

    def mark_current(self, params: OfVersion) -> Result:
        version = params.version
        release = self._b.releases.prepare(version)
        switched = self._b.releases.link_current(version)
        self._store.set_current(
            self._env.app,
            self._env.name,
            version=version,
            digest=release.digest,
            deployment_id=self._deployment_id,
            hosts=switched,
        )
        in_use = {i.version for i in self._b.target.instances()}
        self._b.releases.prune(keep=self._env.release.keep, protect=in_use | {version})
        return {"digest": release.digest}
