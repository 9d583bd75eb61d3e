"""Pydantic models of ``slipway.yaml``.

The models are the single source of truth for what a spec may contain: they
validate it, give defaults, and produce the JSON Schema (``slipway schema``).
Every model forbids unknown keys, so a misspelt key is an error pointing at
its line, not a silently ignored setting.

Top-level ``process``, ``health``, ``strategy`` and ``on_failure`` are the
defaults of every environment; an environment may override each of them
wholesale. ``Spec.environment(name)`` returns the merged view the rest of
Slipway works with.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from slipway.redact import SecretKind
from slipway.spec.fleet import Fleet, SshTargetSpec
from slipway.spec.invalid import Invalid
from slipway.spec.progressive import BlueGreenSpec, CanarySpec
from slipway.spec.runbook import (
    ContactLevel,
    DatabaseSpec,
    EnvPreflight,
    GoNoGoSpec,
    NotificationSpec,
    PreflightSpec,
    RunbookSections,
    RunbookSpec,
    WindowSpec,
)

VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$"
_VERSION_RE = re.compile(VERSION_PATTERN)

Port = Annotated[int, Field(ge=1, le=65535)]
Seconds = Annotated[float, Field(gt=0, le=86_400)]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


def is_valid_version(version: str) -> bool:
    """Versions become paths, program names and parts of remote commands: keep them tame."""
    return bool(_VERSION_RE.fullmatch(version)) and ".." not in version


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReleaseSpec(_Model):
    """Where a release comes from: a directory or tarball (``path``) or a build command."""

    path: str | None = Field(
        None, description="Directory or .tar.gz of a release; `{version}` is replaced."
    )
    build: str | None = Field(
        None,
        description="Command that builds a release into `{output}`; `{version}` is replaced. "
        "Run without a shell, split like a POSIX shell would.",
    )
    keep: int = Field(5, ge=1, le=100, description="How many unpacked releases to keep.")

    @field_validator("build")
    @classmethod
    def _splits(cls, build: str | None) -> str | None:
        """Split now as the deployment will (``shlex``), so a stray quote fails `validate`."""
        if build is None:
            return None
        try:
            argv = shlex.split(build)
        except ValueError as exc:
            raise Invalid(
                f"cannot be split into arguments like a POSIX shell would: {exc}",
                hint="close the quote, or escape it with a backslash",
            ) from None
        if not argv:
            raise Invalid(
                "the build command is empty", hint="e.g. build: ./build.sh {version} {output}"
            )
        return build

    @model_validator(mode="after")
    def _one_source(self) -> ReleaseSpec:
        if (self.path is None) == (self.build is None):
            raise ValueError("give exactly one of `path` or `build`")
        return self


class ProcessSpec(_Model):
    """How an instance is started, in its release directory."""

    command: list[str] = Field(
        ..., min_length=1, description="argv of the instance; `{port}` is replaced."
    )
    env: dict[str, str] = Field(default_factory=dict)
    stop_timeout_s: Seconds = Field(10.0, description="Grace after SIGTERM before SIGKILL.")

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
            if "\0" in value:
                raise ValueError(f"{key}: a NUL character cannot be in an environment variable")
        return env

    @field_validator("command")
    @classmethod
    def _no_nul(cls, command: list[str]) -> list[str]:
        # Any other character (a newline in `sh -c` text, quotes) reaches the program as is.
        if any("\0" in word for word in command):
            raise ValueError("a NUL character cannot be in a command's argument")
        return command


class HttpCheckSpec(_Model):
    type: Literal["http"] = "http"
    path: str = Field("/health", pattern=r"^/[A-Za-z0-9._~/%?=&-]*$")
    expect_status: int = Field(200, ge=100, le=599)
    expect_body: str | None = None
    timeout_s: Seconds = 2.0


class TcpCheckSpec(_Model):
    type: Literal["tcp"]
    timeout_s: Seconds = 2.0


class CommandCheckSpec(_Model):
    type: Literal["command"]
    command: list[str] = Field(..., min_length=1, description="argv; `{port}` is replaced.")
    timeout_s: Seconds = 10.0


CheckSpec = Annotated[HttpCheckSpec | TcpCheckSpec | CommandCheckSpec, Field(discriminator="type")]


class HealthSpec(_Model):
    """When an instance counts as healthy (thresholds as in HAProxy and Kubernetes probes)."""

    check: CheckSpec = Field(default_factory=lambda: HttpCheckSpec())
    interval_s: Seconds = 0.5
    timeout_s: Seconds = Field(30.0, description="Give up on an instance after this long.")
    healthy_threshold: int = Field(2, ge=1, le=100)
    unhealthy_threshold: int = Field(3, ge=1, le=100)


IntOrPercent = Annotated[int | str, Field(union_mode="left_to_right")]


def _int_or_percent(value: int | str, field: str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{field} cannot be negative")
        return value
    if not re.fullmatch(r"(100|[1-9]?[0-9])%", value):
        raise ValueError(f"{field} must be a whole number or a percentage like '25%'")
    return value


class RollingSpec(_Model):
    """Replace instances batch by batch; surge and unavailable mean what Kubernetes means."""

    type: Literal["rolling"] = "rolling"
    batch_size: IntOrPercent = Field(1, description="Instances replaced per batch (or '%').")
    max_surge: IntOrPercent = Field(
        1, description="Instances allowed above the desired count during the update (or '%')."
    )
    max_unavailable: IntOrPercent = Field(
        0, description="Instances allowed below the desired count during the update (or '%')."
    )

    @field_validator("batch_size", "max_surge", "max_unavailable")
    @classmethod
    def _check(cls, value: int | str, info: object) -> int | str:
        return _int_or_percent(value, getattr(info, "field_name", "value"))

    @model_validator(mode="after")
    def _not_both_zero(self) -> RollingSpec:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            raise ValueError("max_surge and max_unavailable cannot both be 0: nothing could move")
        if self.batch_size in (0, "0%"):
            raise ValueError("batch_size must be at least 1")
        return self


StrategySpec = Annotated[RollingSpec | BlueGreenSpec | CanarySpec, Field(discriminator="type")]


class Listen(_Model):
    host: str
    port: Port

    @property
    def loopback(self) -> bool:
        return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(value: object) -> object:
    """``"127.0.0.1:8080"`` → ``{"host": ..., "port": ...}``; other shapes are left to pydantic."""
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if not sep or not re.fullmatch(r"[0-9]{1,5}", port):
            raise ValueError("listen must look like 127.0.0.1:8080")
        return {"host": host.removeprefix("[").removesuffix("]"), "port": int(port)}
    return value


def _ip(host: str, *, named: bool) -> str:
    """An IP address written as HAProxy and the kernel take it (``localhost`` if ``named``).

    A ``%`` zone (``fe80::1%eth0``), which Python accepts, is refused: it names an interface,
    not an address, and reaches the config as it is written.
    """
    if named and host == "localhost":
        return host
    if "%" in host:
        raise ValueError(f"{host!r}: a scoped address (with '%') cannot be used here")
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(f"{host!r} is not an IP address") from exc
    return host


class HAProxySpec(_Model):
    type: Literal["haproxy"] = "haproxy"
    listen: Listen
    metrics_port: Port | None = Field(
        None, description="Loopback port of HAProxy's Prometheus exporter."
    )
    drain_timeout_s: Seconds = Field(30.0, description="Longest wait for in-flight requests.")
    host: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
        description="Fleet host HAProxy runs on (driven over SSH); this machine when unset.",
    )
    admin: Listen | None = Field(
        None,
        description="TCP address (IP and port) of HAProxy's admin socket, reached directly "
        "instead of over SSH. Loopback only, unless `expose_admin: true`.",
    )
    expose_admin: bool = Field(
        False,
        description="Let `admin` listen beyond loopback. Its API has no authentication: anyone "
        "who reaches that address can take servers out of rotation.",
    )

    @field_validator("admin", mode="before")
    @classmethod
    def _admin(cls, value: object) -> object:
        return parse_listen(value)

    @field_validator("listen", mode="before")
    @classmethod
    def _listen(cls, value: object) -> object:
        return parse_listen(value)

    @field_validator("listen")
    @classmethod
    def _listen_address(cls, listen: Listen) -> Listen:
        _ip(listen.host, named=True)
        return listen

    @field_validator("admin")
    @classmethod
    def _admin_address(cls, admin: Listen | None) -> Listen | None:
        if admin is not None:
            _ip(admin.host, named=False)
        return admin

    @model_validator(mode="after")
    def _exposed(self) -> HAProxySpec:
        if self.admin is not None and not self.admin.loopback and not self.expose_admin:
            raise ValueError(
                f"admin {self.admin} is beyond loopback: HAProxy's admin API has no "
                "authentication. Use a loopback address, or say `expose_admin: true` on a "
                "network only Slipway's runners reach"
            )
        return self

    def exposed(self) -> list[str]:
        """What HAProxy listens on beyond loopback, said plainly (``slipway plan`` prints it)."""
        found = []
        if not self.listen.loopback:
            found.append(f"{self.listen}: the app, through HAProxy")
        if self.admin is not None and not self.admin.loopback:
            found.append(f"{self.admin}: HAProxy's admin API, without authentication")
        return found


RouterSpec = Annotated[HAProxySpec, Field(discriminator="type")]


class LocalTargetSpec(_Model):
    type: Literal["local"] = "local"
    name: Name = "local"


TargetSpec = Annotated[LocalTargetSpec | SshTargetSpec, Field(discriminator="type")]


def _local() -> LocalTargetSpec | SshTargetSpec:
    return LocalTargetSpec()


class InstancesSpec(_Model):
    """The instances of the app. Each has two slots (ports), so a new release can start beside
    the old one: slot ``a`` on ``base_port + i`` and slot ``b`` on ``base_port + count + i``."""

    count: int | None = Field(None, ge=1, le=64)
    names: list[Name] | None = Field(None, min_length=1, max_length=64)
    per_host: int | None = Field(
        None, ge=1, le=32, description="On a fleet (ssh target): instances on each host."
    )
    base_port: Port = Field(..., description="First of 2 x count consecutive loopback ports.")

    @field_validator("names")
    @classmethod
    def _unique(cls, names: list[str] | None) -> list[str] | None:
        seen: set[str] = set()
        for name in names or []:
            if name in seen:
                raise ValueError(f"instance name {name!r} appears twice")
            seen.add(name)
        return names

    @model_validator(mode="after")
    def _count(self) -> InstancesSpec:
        if self.per_host is not None:
            if self.count is not None or self.names is not None:
                raise ValueError("`per_host` (a fleet) excludes `count` and `names`")
            if self.base_port + 2 * self.per_host - 1 > 65535:
                raise ValueError("base_port + 2 x per_host goes past port 65535")
            return self
        if self.count is None and self.names is None:
            raise ValueError("give `count` or `names` (or `per_host` on a fleet)")
        if self.count is not None and self.names is not None and self.count != len(self.names):
            raise ValueError(f"count is {self.count} but {len(self.names)} names are given")
        if self.base_port + 2 * len(self.instance_names) - 1 > 65535:
            raise ValueError("base_port + 2 x count goes past port 65535")
        return self

    @property
    def instance_names(self) -> list[str]:
        if self.names is not None:
            return list(self.names)
        return [f"web-{i + 1}" for i in range(self.count or self.per_host or 0)]


class EnvironmentSpec(RunbookSections):  # runbook sections override the spec's
    router: RouterSpec
    instances: InstancesSpec
    targets: list[TargetSpec] = Field(default_factory=lambda: [_local()], min_length=1)
    process: ProcessSpec | None = None
    health: HealthSpec | None = None
    strategy: StrategySpec | None = None
    on_failure: Literal["rollback", "stop"] | None = None
    on_interrupt: Literal["resume", "rollback"] | None = None

    @model_validator(mode="after")
    def _fleet(self) -> EnvironmentSpec:
        ssh = [t for t in self.targets if isinstance(t, SshTargetSpec)]
        if ssh and len(self.targets) > 1:
            raise ValueError("an ssh target is the environment's only target")
        if ssh and self.instances.per_host is None:
            raise ValueError("a fleet (ssh target) needs `instances.per_host`")
        if not ssh and self.instances.per_host is not None:
            raise ValueError("`instances.per_host` needs an ssh target")
        if not ssh and self.router.host is not None:
            raise ValueError("`router.host` names a fleet host: it needs an ssh target")
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
    strategy: StrategySpec = Field(default_factory=lambda: RollingSpec())
    on_failure: Literal["rollback", "stop"] = "rollback"
    on_interrupt: Literal["resume", "rollback"] = Field(
        "resume", description="What `slipway resume` does with a deployment whose runner died."
    )
    environments: dict[Name, EnvironmentSpec] = Field(..., min_length=1)

    @field_validator("state_dir")
    @classmethod
    def _tame_state_dir(cls, state_dir: str) -> str:
        # It is written into supervisord's and HAProxy's configs, line by line.
        if re.search(r"[\x00-\x1f\x7f]", state_dir):
            raise ValueError(f"{state_dir!r} has a control character (a newline?)")
        if re.search(r"\s", state_dir):
            raise ValueError(f"{state_dir!r} has a blank, which supervisord's config cannot hold")
        return state_dir


class Environment(_Model):
    """One environment with the spec's defaults applied: what the engine works with."""

    app: str
    name: str
    root: Path
    state_dir: Path
    release: ReleaseSpec
    process: ProcessSpec
    health: HealthSpec
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
    notifications: list[NotificationSpec] = Field(default_factory=list)
    contacts: list[ContactLevel] = Field(default_factory=list)
    runbook: RunbookSpec = Field(default_factory=RunbookSpec)
    go_no_go: GoNoGoSpec | None = None

    def secret_variables(self) -> dict[str, SecretKind]:
        """The environment variables whose values are secrets, and how (``slipway.redact``):
        the database URL, each webhook URL, each variable of an ``env`` check with
        ``secret: true``. Their values are masked in whatever Slipway records, prints or sends.
        """
        found: dict[str, SecretKind] = {}
        for check in self.checks:
            if isinstance(check, EnvPreflight) and check.secret:
                found.update(dict.fromkeys(check.variables, "value"))
        if self.database is not None:
            found[self.database.url_env] = "dsn"
        for channel in self.notifications:
            found[channel.url_env] = "webhook"
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
