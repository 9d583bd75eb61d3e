"""The fleet part of a spec: SSH hosts (listed, or from an Ansible inventory) and how to run there.

An environment whose target is ``type: ssh`` runs ``instances.per_host``
instances on each selected host; each instance keeps the two slots of every
Slipway instance, so every strategy works unchanged. Slot names are unique
across the fleet: ``<host>-<i>_a`` and ``<host>-<i>_b``.

Every value that reaches a remote command (host names, users, paths,
versions) is validated here against a tame pattern, and then quoted with
``shlex`` where the command is built: a value with shell metacharacters is
refused before anything connects anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from slipway.errors import SpecError, UsageError
from slipway.spec.base import Model
from slipway.spec.containers import HostDocker
from slipway.spec.inventory import GROUP_NAME, Inventory, load_inventory
from slipway.spec.inventory_ansible import read_with_ansible
from slipway.spec.inventory_hosts import HOST_NAME
from slipway.spec.patterns import limit_hosts, select_hosts

HOST_PATTERN = f"^{HOST_NAME}$"
USER_PATTERN = r"^[a-z_][a-z0-9_-]{0,31}$"
ABS_PATH_PATTERN = r"^/[A-Za-z0-9._/-]*$"
REL_PATH_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$"
HostName = Annotated[str, Field(pattern=HOST_PATTERN)]
# How Ansible reaches a host (MAGIC_VARIABLE_MAPPING): the first variable set wins, so the
# deprecated ansible_ssh_* names win over the new ones when a host has both, as in Ansible.
CONNECT_VARS = {
    "address": ("ansible_ssh_host", "ansible_host"),
    "port": ("ansible_ssh_port", "ansible_port"),
    "user": ("ansible_ssh_user", "ansible_user"),
    "key_file": ("ansible_ssh_private_key_file", "ansible_private_key_file"),
}
SSH_CONNECTIONS = ("ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh")
_HINTS = {
    "address": "an IP address or a DNS name",
    "port": "a number from 1 to 65535",
    "user": "a user name: lowercase letters, digits, '_' and '-', at most 32",
    "key_file": "a path to a private key",
}


def _no_dotdot(value: str) -> str:
    if ".." in value.split("/"):
        raise ValueError(f"{value!r}: '..' is not allowed in a path here")
    return value


class HostSpec(Model):
    """One host of a fleet, as listed in the spec."""

    address: str | None = Field(
        None, description="IP address or DNS name; the host's name if unset."
    )
    port: int = Field(22, ge=1, le=65535)
    user: str | None = Field(None, pattern=USER_PATTERN)
    key_file: str | None = None
    groups: list[Annotated[str, Field(pattern=f"^{GROUP_NAME}$")]] = Field(default_factory=list)
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("key_file")
    @classmethod
    def _key_file(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(ord(c) < 32 or c == "\x7f" for c in value)):
            raise ValueError(f"{value!r} is not a usable path (empty, or a control character)")
        return value

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,252}", value):
            raise ValueError(f"{value!r} is not an IP address or host name")
        return value


class InventorySpec(Model):
    """An Ansible inventory, and how to read it."""

    path: str = Field(..., description="A file or a directory, relative to the spec.")
    reader: Literal["builtin", "ansible"] = Field(
        "builtin",
        description="builtin: Slipway reads INI/YAML itself (as ansible-core does); ansible: "
        "through `ansible-inventory --list` (dynamic inventory plugins, vaulted variables).",
    )
    vault_password_file: str | None = Field(
        None, description="Passed to ansible-inventory (reader: ansible)."
    )


class SupervisordService(Model):
    """Instances as programs of a supervisord Slipway starts on each host (no root needed)."""

    type: Literal["supervisord"] = "supervisord"
    python: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_./-]+$",
        description="A Python with `supervisor` on the hosts; the target's `python` if unset.",
    )
    start_secs: float = Field(1.0, ge=0, le=60, description="How long a start must stay up.")


class SystemdService(Model):
    """Instances as systemd units ``slipway-<app>-<slot>.service`` (needs root on the host)."""

    type: Literal["systemd"]
    unit_dir: str = Field("/etc/systemd/system", pattern=ABS_PATH_PATTERN)


class CommandService(Model):
    """Your own start/stop/status commands; ``{slot}``, ``{port}``, ``{release}`` are replaced."""

    type: Literal["command"]
    start: list[str] = Field(..., min_length=1)
    stop: list[str] = Field(..., min_length=1)
    status: list[str] = Field(..., min_length=1, description="Exits 0 when the slot runs.")


ServiceSpec = Annotated[
    SupervisordService | SystemdService | CommandService, Field(discriminator="type")
]


class SshTargetSpec(Model):
    """A fleet of hosts reached over SSH."""

    type: Literal["ssh"]
    name: str = Field("fleet", pattern=r"^[a-z][a-z0-9-]{0,31}$")
    hosts: dict[Annotated[str, Field(pattern=HOST_PATTERN)], HostSpec] = Field(default_factory=dict)
    inventory: str | InventorySpec | None = Field(
        None,
        description="Ansible inventory (an INI or YAML file, or a directory of them, with "
        "group_vars/ and host_vars/), relative to the spec; or {path, reader, "
        "vault_password_file}.",
    )
    select: str = Field("all", description="Host pattern (Ansible's) of the hosts running the app.")
    user: str = Field("root", pattern=USER_PATTERN)
    key_file: str | None = Field(None, description="Private key; the ssh agent when unset.")
    python: str = Field(
        "python3",
        pattern=r"^[A-Za-z0-9_./-]+$",
        description="A Python with `supervisor` on the hosts: it runs the supervisord that "
        "keeps instances (service supervisord) and HAProxy (on the router's host).",
    )
    known_hosts: str = Field("~/.ssh/known_hosts", description="Host keys trusted; always checked.")
    deploy_to: str = Field(..., pattern=ABS_PATH_PATTERN, description="releases/, shared/, current")
    linked_dirs: list[Annotated[str, Field(pattern=REL_PATH_PATTERN)]] = Field(default_factory=list)
    linked_files: list[Annotated[str, Field(pattern=REL_PATH_PATTERN)]] = Field(
        default_factory=list
    )
    runtime: Literal["process", "docker"] = Field(
        "process",
        description="process: the release's files run as processes (`service`); docker: the "
        "release is an image, run as containers of each host's Docker engine (`docker`).",
    )
    service: ServiceSpec = Field(default_factory=lambda: SupervisordService())
    docker: HostDocker = Field(
        default_factory=lambda: HostDocker(), description="With `runtime: docker`."
    )
    max_parallel: int = Field(20, ge=1, le=1000, description="Hosts worked on at once.")
    connect_timeout_s: float = Field(10.0, gt=0, le=600)
    command_timeout_s: float = Field(120.0, gt=0, le=3600)
    on_host_failure: Literal["rollback", "continue"] = Field(
        "rollback",
        description="A failed host rolls everything back, or the rollout goes on without it "
        "while at most max_fail_percentage of the hosts failed.",
    )
    max_fail_percentage: int = Field(0, ge=0, le=100)

    @model_validator(mode="after")
    def _runtime(self) -> SshTargetSpec:
        if self.runtime == "docker" and "service" in self.model_fields_set:
            raise ValueError("`service` is how processes run: with `runtime: docker`, leave it out")
        if self.runtime == "process" and "docker" in self.model_fields_set:
            raise ValueError("`docker` needs `runtime: docker`")
        if self.runtime == "docker" and (self.linked_dirs or self.linked_files):
            raise ValueError(
                "`linked_dirs`/`linked_files` link into a release's directory: containers "
                "take `docker.volumes` instead"
            )
        return self

    @field_validator("deploy_to", "linked_dirs", "linked_files")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            _no_dotdot(item)
        return value


class FleetHost(Model):
    """A host with everything resolved: how to reach it, its groups and variables."""

    name: str
    address: str
    port: int
    user: str
    key_file: Path | None
    groups: list[str]
    vars: dict[str, Any]


class Fleet(Model):
    """The resolved fleet of an environment: every host, and those the app runs on."""

    spec: SshTargetSpec
    hosts: dict[str, FleetHost]
    groups: dict[str, list[str]]
    app_hosts: list[str]  # after `select` and `--limit`, inventory order
    limit: str | None = None
    known_hosts: Path

    def select(self, pattern: str) -> list[str]:
        return select_hosts(pattern, hosts=list(self.hosts), groups=self.groups)

    def limited(self, pattern: str, *, cwd: Path | None = None) -> Fleet:
        """Only the app's hosts that ``--limit pattern`` selects (``@file`` read from ``cwd``)."""
        kept = limit_hosts(
            pattern, self.app_hosts, hosts=list(self.hosts), groups=self.groups, cwd=cwd
        )
        if not kept:
            raise UsageError(
                f"--limit {pattern!r} selects none of the hosts the app runs on",
                hint=f"the app runs on: {', '.join(self.app_hosts)}",
            )
        return self.model_copy(update={"app_hosts": kept, "limit": pattern})


def resolve_fleet(spec: SshTargetSpec, *, root: Path, locate: Any) -> Fleet:
    """Hosts of the spec and of its inventory, merged (the spec's win), validated."""
    hosts: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {"all": [], "ungrouped": []}
    member_of: dict[str, list[str]] = {}
    if spec.inventory:
        inventory = _read_inventory(spec.inventory, root=root, locate=locate)
        found_vars, found_groups = inventory.resolved()
        for name, variables in found_vars.items():
            hosts[name] = _from_vars(variables)
            member_of[name] = inventory.host_groups(name)
        groups = {g: list(m) for g, m in found_groups.items()}
    for name, host in spec.hosts.items():
        entry = hosts.setdefault(name, {"vars": {}})
        listed = host.model_dump(exclude_none=True, exclude={"groups", "vars"})
        entry.update(listed)
        entry["vars"] = {**entry.get("vars", {}), **host.vars}
        mine = member_of.setdefault(name, ["all"])
        if host.groups and "ungrouped" in mine:  # Ansible's rule: ungrouped means in no group
            mine.remove("ungrouped")
            groups["ungrouped"].remove(name)
        for group in ["all", *host.groups]:
            members = groups.setdefault(group, [])
            if name not in members:
                members.append(name)
            if group not in mine:
                mine.append(group)
        if mine == ["all"]:
            groups["ungrouped"].append(name)
            mine.append("ungrouped")
    if not hosts:
        raise SpecError(
            "an ssh target needs hosts: list them under `hosts:` or name an `inventory:`",
            location=locate(),
            field="hosts",
        )
    resolved = {}
    for name, entry in hosts.items():
        names = sorted(g for g in member_of.get(name, []) if g != "all")
        resolved[name] = _host(name, entry, names, spec, root=root, locate=locate)
    try:
        app_hosts = select_hosts(spec.select, hosts=list(resolved), groups=groups)
    except UsageError as exc:
        raise SpecError(
            exc.message, location=locate("select"), field="select", hint=exc.hint
        ) from None
    _check_selected(spec, app_hosts, resolved, groups, locate)
    return Fleet(
        spec=spec,
        hosts=resolved,
        groups=groups,
        app_hosts=app_hosts,
        known_hosts=spec_path(root, spec.known_hosts),
    )


def _check_selected(
    spec: SshTargetSpec,
    app_hosts: list[str],
    resolved: dict[str, FleetHost],
    groups: dict[str, list[str]],
    locate: Any,
) -> None:
    """The app runs somewhere, and only on hosts reached over SSH."""
    if not app_hosts:
        raise SpecError(
            f"select {spec.select!r} selects no host",
            location=locate("select"),
            field="select",
            hint=f"groups: {', '.join(g for g, m in groups.items() if m)}",
        )
    for name in app_hosts:
        connection = resolved[name].vars.get("ansible_connection", "ssh")
        if connection not in SSH_CONNECTIONS:
            raise SpecError(
                f"host {name} has ansible_connection={connection!r}: Slipway reaches fleet hosts "
                "over SSH only",
                location=locate("select") or locate("inventory"),
                field="select",
                hint="leave this host out of `select` (like all:!local), or reach it over SSH",
            )


def _read_inventory(given: str | InventorySpec, *, root: Path, locate: Any) -> Inventory:
    source = given if isinstance(given, InventorySpec) else InventorySpec(path=given)
    path = spec_path(root, source.path)
    where = locate("inventory") if isinstance(given, str) else locate("inventory", "path")
    if not path.exists():
        raise SpecError(
            f"inventory {str(path)!r} does not exist",
            location=where,
            field="inventory",
            hint="paths are relative to the spec file; a file or a directory",
        )
    if source.reader == "builtin":
        return load_inventory(path)
    vault = source.vault_password_file
    return read_with_ansible(
        path, vault_password_file=spec_path(root, vault) if vault else None, where=where
    )


def _from_vars(variables: dict[str, Any]) -> dict[str, Any]:
    """Connection settings out of a host's variables, the rest kept as its ``vars``."""
    entry: dict[str, Any] = {}
    for setting, names in CONNECT_VARS.items():
        for var in names:
            if var in variables:
                entry[setting] = variables[var]
                entry.setdefault("_from", {})[setting] = var
                break
    taken = {var for names in CONNECT_VARS.values() for var in names}
    entry["vars"] = {k: v for k, v in variables.items() if k not in taken}
    return entry


def spec_path(root: Path, text: str) -> Path:
    """A path of the spec: ``~`` expanded, relative to the spec's directory."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else root / path


def _host(
    name: str,
    entry: dict[str, Any],
    groups: list[str],
    spec: SshTargetSpec,
    *,
    root: Path,
    locate: Any,
) -> FleetHost:
    origin: dict[str, str] = entry.get("_from", {})
    try:
        listed = HostSpec.model_validate(
            {k: v for k, v in entry.items() if k not in ("vars", "_from")}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        setting = str(first["loc"][0]) if first["loc"] else ""
        var = origin.get(setting, setting)
        value = entry.get(setting)
        why = "" if first["type"] == "string_pattern_mismatch" else f" ({first['msg']})"
        raise SpecError(
            f"host {name}: {var} {value!r} is not valid{why}",
            location=(locate("hosts", name) if name in spec.hosts else None) or locate("inventory"),
            field=f"hosts.{name}.{setting}" if name in spec.hosts else "inventory",
            hint=_HINTS.get(setting),
        ) from None
    key = listed.key_file or spec.key_file
    return FleetHost(
        name=name,
        address=listed.address or name,
        port=listed.port,
        user=listed.user or spec.user,
        key_file=spec_path(root, key) if key else None,
        groups=groups,
        vars=dict(entry.get("vars", {})),
    )
