"""``slipway drill``: rehearse deploy-then-rollback and measure the rollback.

The runbook promises a rollback under five minutes; a promise nobody measured
is a hope. A drill deploys a release to an environment (staging, usually)
with the real engine, then rolls back to the release that was there, and
records how long the rollback took — from the moment it started to the
previous release serving alone — as the template's criterion asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slipway.engine.runner import Engine
from slipway.errors import UsageError
from slipway.runbook.facts import seconds_between
from slipway.spec.digest import spec_digest
from slipway.store.records import Records


@dataclass(frozen=True)
class DrillResult:
    version: str
    back_to: str
    deploy_id: str
    deploy_status: str
    rollback_id: str | None
    rollback_status: str | None
    rollback_s: float | None
    target_s: float

    @property
    def passed(self) -> bool:
        return self.rollback_status == "succeeded" and self.rollback_s is not None

    @property
    def within_target(self) -> bool:
        return self.passed and self.rollback_s is not None and self.rollback_s < self.target_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "back_to": self.back_to,
            "deploy": {"id": self.deploy_id, "status": self.deploy_status},
            "rollback": {"id": self.rollback_id, "status": self.rollback_status},
            "rollback_s": self.rollback_s,
            "target_s": self.target_s,
            "outcome": "passed" if self.passed else "failed",
            "within_target": self.within_target,
        }


def run_drill(engine: Engine, version: str) -> DrillResult:
    """Deploy ``version``, then roll back to the current release; record and return the times."""
    env, store = engine.env, engine.store
    current = store.current(env.app, env.name)
    if current is None:
        raise UsageError(
            f"{env.app}/{env.name} has no current release to roll back to",
            hint=f"deploy one first: slipway deploy --env {env.name} --version <version>",
        )
    if current.version == version:
        raise UsageError(
            f"{version} is already current on {env.name}: a drill needs another release",
            hint="give the version a real deployment would bring",
        )
    back_to = current.version
    deployed = engine.deploy(version).deployment
    rollback_id = rollback_status = None
    rollback_s = None
    if deployed.status == "succeeded":
        rolled = engine.rollback(to=back_to).deployment
        rollback_id, rollback_status = rolled.id, rolled.status
        rollback_s = seconds_between(rolled.started_at, rolled.ended_at)
        store.update_deployment(rolled.id, rollback_s=rollback_s)
    result = DrillResult(
        version=version,
        back_to=back_to,
        deploy_id=deployed.id,
        deploy_status=deployed.status,
        rollback_id=rollback_id,
        rollback_status=rollback_status,
        rollback_s=rollback_s,
        target_s=env.runbook.rollback_max_s,
    )
    Records(store).add_drill(
        app=env.app,
        environment=env.name,
        version=version,
        back_to=back_to,
        deploy_id=deployed.id,
        rollback_id=rollback_id,
        rollback_s=rollback_s,
        outcome="passed" if result.passed else "failed",
        spec_digest=spec_digest(env),
    )
    return result
