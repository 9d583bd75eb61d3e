"""The whole spec: one app, its environments, and ``Environment``, an environment with the
spec's defaults applied — what the rest of Slipway works with.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from slipway.redact import SecretKind
from slipway.spec.base import Model, Name
from slipway.spec.checks import EnvPreflight, PreflightSpec, RedisPreflight
from slipway.spec.database import DatabaseSpec
from slipway.spec.flags import FlagsSpec
from slipway.spec.fleet import Fleet, SshTargetSpec
from slipway.spec.media import MediaSpec
from slipway.spec.notify import ContactLevel, NotificationSpec
from slipway.spec.process import HealthSpec, ProcessSpec
from slipway.spec.release import ReleaseSpec
from slipway.spec.roles import RoleSpec, check_roles
from slipway.spec.router import RouterSpec
from slipway.spec.runbook import GoNoGoSpec, RunbookSpec
from slipway.spec.sections import RunbookSections
from slipway.spec.server import ServerSpec
from slipway.spec.store import StoreSpec
from slipway.spec.strategy import RollingSpec, StrategySpec, header_routes
from slipway.spec.targets import DockerTargetSpec, InstancesSpec, TargetSpec, _local
from slipway.spec.window import WindowSpec


class EnvironmentSpec(RunbookSections):  # runbook sections override the spec's
    router: RouterSpec
    instances: InstancesSpec
    targets: list[TargetSpec] = Field(default_factory=lambda: [_local()], min_length=1)
    process: ProcessSpec | None = None
    health: HealthSpec | None = None
    roles: dict[str, RoleSpec] = Field(
        default_factory=dict, description="Override the spec's roles, each by its name, whole."
    )
    strategy: StrategySpec | None = None
    on_failure: Literal["rollback", "stop"] | None = None
    on_interrupt: Literal["resume", "rollback"] | None = None
    flags: FlagsSpec | None = Field(
        None, description="Slipway serves this environment's feature flags (OFREP, flagd file)."
    )

    @field_validator("roles")
    @classmethod
    def _role_names(cls, roles: dict[str, RoleSpec]) -> dict[str, RoleSpec]:
        return check_roles(roles)

    @model_validator(mode="after")
    def _fleet(self) -> EnvironmentSpec:
        ssh = [t for t in self.targets if isinstance(t, SshTargetSpec)]
        if ssh and len(self.targets) > 1:
            raise ValueError("an ssh target is the environment's only target")
        if ssh and self.instances.per_host is None:
            raise ValueError("a fleet (ssh target) needs `instances.per_host`")
        if not ssh and self.instances.per_host is not None:
            raise ValueError("`instances.per_host` needs an ssh target")
        if ssh and self.router.type != "haproxy":
            raise ValueError("a fleet's router is HAProxy on one of its hosts (`type: haproxy`)")
        if not ssh and self.router.host is not None:
            raise ValueError("`router.host` names a fleet host: it needs an ssh target")
        docker = [t for t in self.targets if isinstance(t, DockerTargetSpec)]
        if docker and len(self.targets) > 1:
            raise ValueError("a docker target is the environment's only target")
        return self

    @model_validator(mode="after")
    def _ports(self) -> EnvironmentSpec:
        names = [t.name for t in self.targets]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"target name {name!r} appears twice")
        first = self.instances.base_port
        last = first + 2 * len(self.instances.instance_names) - 1
        for what, port in (
            ("router listen port", self.router.listen.port),
            ("router metrics_port", self.router.metrics_port),
        ):
            if port is not None and first <= port <= last:
                raise ValueError(f"{what} {port} falls in the instance ports {first}-{last}")
        return self


class Spec(RunbookSections):  # runbook sections: the base of every environment
    """One app, its releases, and the environments it is deployed to."""

    version: Literal[1] = Field(1, description="Version of this file's format.")
    app: Name
    state_dir: str = Field(".slipway", description="Where Slipway keeps state, beside this file.")
    release: ReleaseSpec
    process: ProcessSpec
    health: HealthSpec = Field(default_factory=lambda: HealthSpec())
    roles: dict[str, RoleSpec] = Field(
        default_factory=dict,
        description="Processes without traffic (Celery workers, beat), rolled out after web.",
    )
    strategy: StrategySpec = Field(default_factory=lambda: RollingSpec())
    on_failure: Literal["rollback", "stop"] = "rollback"
    on_interrupt: Literal["resume", "rollback"] = Field(
        "resume", description="What `slipway resume` does with a deployment whose runner died."
    )
    environments: dict[Name, EnvironmentSpec] = Field(..., min_length=1)
    store: StoreSpec = Field(default_factory=StoreSpec, description="The team's store.")
    server: ServerSpec = Field(
        default_factory=ServerSpec, description="`slipway serve`: the HTTP API and dashboard."
    )

    @model_validator(mode="after")
    def _images_run_in_containers(self) -> Spec:
        """An image runs on a docker target, and a docker target runs only images."""
        for name, env in self.environments.items():
            docker = any(
                isinstance(t, DockerTargetSpec)
                or (isinstance(t, SshTargetSpec) and t.runtime == "docker")
                for t in env.targets
            )
            if docker and self.release.image is None:
                raise ValueError(
                    f"environment {name!r} runs containers: the release must be an "
                    "image (`release.image: {build: {context: .}}` or `{name: …}`)"
                )
            if not docker and self.release.image is not None:
                raise ValueError(
                    f"environment {name!r}: a release image needs a docker target "
                    "(`targets: [{type: docker}]`, or `{type: ssh, runtime: docker}`)"
                )
        return self

    @model_validator(mode="after")
    def _header_routes_need_haproxy(self) -> Spec:
        """A canary's `set_header_route` is a map of the environment's own HAProxy."""
        for name, env in self.environments.items():
            fleet = any(isinstance(t, SshTargetSpec) for t in env.targets)
            if header_routes(env.strategy or self.strategy) and (
                env.router.type != "haproxy" or fleet
            ):
                raise ValueError(
                    f"environment {name!r}: `set_header_route` needs the environment's own "
                    "HAProxy (`router: {type: haproxy}`, not a fleet's LB yet)"
                )
        return self

    @field_validator("roles")
    @classmethod
    def _role_names(cls, roles: dict[str, RoleSpec]) -> dict[str, RoleSpec]:
        return check_roles(roles)

    @field_validator("state_dir")
    @classmethod
    def _tame_state_dir(cls, state_dir: str) -> str:
        # It is written into supervisord's and HAProxy's configs, line by line.
        if re.search(r"[\x00-\x1f\x7f]", state_dir):
            raise ValueError(f"{state_dir!r} has a control character (a newline?)")
        if re.search(r"\s", state_dir):
            raise ValueError(f"{state_dir!r} has a blank, which supervisord's config cannot hold")
        return state_dir

    @model_validator(mode="after")
    def _flag_source(self) -> Spec:
        for name, env in self.environments.items():
            strategy = env.strategy or self.strategy
            if strategy.type == "flag" and env.flags is None:
                raise ValueError(
                    f"environment {name!r}: the flag strategy needs the environment's flag "
                    'server: `flags: {listen: "127.0.0.1:18500"}`'
                )
        return self


class Environment(Model):
    """One environment with the spec's defaults applied: what the engine works with."""

    app: str
    name: str
    root: Path
    state_dir: Path
    release: ReleaseSpec
    process: ProcessSpec
    health: HealthSpec
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    strategy: StrategySpec
    on_failure: Literal["rollback", "stop"]
    on_interrupt: Literal["resume", "rollback"]
    router: RouterSpec
    instances: InstancesSpec
    targets: list[TargetSpec]
    fleet: Fleet | None = None
    # the runbook sections, resolved (spec/runbook.py)
    checks: list[PreflightSpec] = Field(default_factory=list)
    window: WindowSpec | None = None
    database: DatabaseSpec | None = None
    media: MediaSpec | None = None
    notifications: list[NotificationSpec] = Field(default_factory=list)
    contacts: list[ContactLevel] = Field(default_factory=list)
    runbook: RunbookSpec = Field(default_factory=RunbookSpec)
    go_no_go: GoNoGoSpec | None = None
    flags: FlagsSpec | None = None
    store: StoreSpec = Field(default_factory=StoreSpec)

    def secret_variables(self) -> dict[str, SecretKind]:
        """The environment variables whose values are secrets, and how (``slipway.redact``):
        the database URL, each webhook URL, each variable of an ``env`` check with
        ``secret: true``. Their values are masked in whatever Slipway records, prints or sends.
        """
        found: dict[str, SecretKind] = {}
        for check in self.checks:
            if isinstance(check, EnvPreflight) and check.secret:
                found.update(dict.fromkeys(check.variables, "value"))
            if isinstance(check, RedisPreflight):  # a URL that may hold a password
                found[check.url_env] = "dsn"
        passed = [*self.process.pass_env, *(v for r in self.roles.values() for v in r.pass_env)]
        found.update(dict.fromkeys(passed, "value"))
        maintenance = self.router.maintenance
        if maintenance is not None and maintenance.bypass_token_env:
            found[maintenance.bypass_token_env] = "value"
        if self.database is not None:
            found[self.database.url_env] = "dsn"
        for channel in self.notifications:
            found[channel.url_env] = "webhook"
        if self.flags is not None and self.flags.token_env is not None:
            found[self.flags.token_env] = "value"
        if self.store.url_env is not None:
            found[self.store.url_env] = "dsn"
        if self.release.image is not None and self.release.image.password_env is not None:
            found[self.release.image.password_env] = "value"
        return found

    def slots(self) -> list[tuple[str, str, int]]:
        """(instance, slot, port) for every slot, ``a`` slots first.

        On a fleet: the instances of the hosts selected (``--limit`` included), named
        ``<host>-<i>``; ports are per host.
        """
        if self.fleet is not None:
            return self._fleet_slots(self.fleet.app_hosts)
        names = self.instances.instance_names
        base, count = self.instances.base_port, len(names)
        result = [(n, f"{n}_a", base + i) for i, n in enumerate(names)]
        result += [(n, f"{n}_b", base + count + i) for i, n in enumerate(names)]
        return result

    def all_slots(self) -> list[tuple[str, str, int]]:
        """Every slot, ignoring ``--limit``: what the router must know about."""
        if self.fleet is not None:
            return self._fleet_slots([h for h in self.fleet.hosts if h in self._app_hosts()])
        return self.slots()

    def _app_hosts(self) -> set[str]:
        assert self.fleet is not None
        return set(self.fleet.select(self.fleet.spec.select))

    def _fleet_slots(self, hosts: list[str]) -> list[tuple[str, str, int]]:
        per_host = self.instances.per_host or 1
        base = self.instances.base_port
        names = [(f"{h}-{i + 1}", i) for h in hosts for i in range(per_host)]
        result = [(n, f"{n}_a", base + i) for n, i in names]
        result += [(n, f"{n}_b", base + per_host + i) for n, i in names]
        return result

    def role_slots(self) -> dict[str, list[tuple[str, str, str | None]]]:
        """role → (slot a, slot b, host) of each of its processes, in the spec's order.

        Here: ``<role>-<i>_a`` / ``_b``, ``count`` of them, host None. On a fleet, roles map
        to inventory groups: ``count`` processes on each host its ``hosts`` pattern selects
        (the app's hosts when unset), ``<role>-<host>-<i>_a``; a singleton has one, on the
        first of them.
        """
        result: dict[str, list[tuple[str, str, str | None]]] = {}
        for role, spec in self.roles.items():
            names: list[tuple[str, str | None]]
            if self.fleet is None:
                names = [(f"{role}-{i}", None) for i in range(1, spec.count + 1)]
            else:
                hosts = self.fleet.select(spec.hosts or self.fleet.spec.select)
                hosts = hosts[:1] if spec.singleton else hosts
                names = [(f"{role}-{h}-{i}", h) for h in hosts for i in range(1, spec.count + 1)]
            result[role] = [(f"{n}_a", f"{n}_b", host) for n, host in names]
        return result

    def slot_hosts(self) -> dict[str, str]:
        """slot → the fleet host it runs on (every slot, ignoring ``--limit``); empty if local."""
        if self.fleet is None:
            return {}
        per_host = self.instances.per_host or 1
        result = {}
        for host in self.fleet.hosts:
            for i in range(per_host):
                for side in ("a", "b"):
                    result[f"{host}-{i + 1}_{side}"] = host
        return result
