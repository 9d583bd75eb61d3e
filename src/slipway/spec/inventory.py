"""Ansible inventories read exactly as ansible-core reads them: hosts, groups, variables.

Teams that already keep their servers in an Ansible inventory point
``inventory:`` at it instead of listing hosts twice, so it must mean what it
means to Ansible — a host reached as another user, address or port than
Ansible would reach it is a silent, dangerous difference. This module is the
model (ansible-core's ``InventoryData``, ``Group`` and ``Host``) and the
loading of a source:

- a file: YAML (by extension ``.yml``/``.yaml``/``.json``, or by content when
  it has none) or INI (``inventory_ini``, ``inventory_yaml``), tried in
  Ansible's order;
- a directory: every file in it, sorted, skipping what Ansible skips (hidden
  files, ``group_vars``/``host_vars``, ``*.md``, ``*.txt``, ``*.cfg``, …);
- ``group_vars/`` and ``host_vars/`` beside it, in file and directory form;
- then Ansible's reconciliation: every group without a parent is a child of
  ``all``, every host in no group is in ``ungrouped``.

A host's variables are merged with Ansible's precedence: ``all``'s inventory
variables, then every other group's in (depth, ``ansible_group_priority``,
name) order, then ``group_vars/all``, then ``group_vars/<group>`` in the same
order, then the host's inventory variables, then ``host_vars/<host>``.

Where Ansible only warns (a file in an inventory directory that no format
reads, a YAML group key other than hosts/vars/children, a group given as a
list), Slipway refuses with a ``SpecError``: a warning nobody reads there
means hosts silently missing from a deployment. Names that reach configs and
commands are checked (``inventory_hosts``); everything else follows Ansible.
Groups, hosts and their order are deterministic (lists, never sets).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slipway.errors import Location, SpecError
from slipway.spec.inventory_hosts import HOST_NAME_HINT, expand_range, valid_host_name

__all__ = ["Inventory", "expand_range", "load_inventory"]

GROUP_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}"
GROUP_NAME_RE = re.compile(GROUP_NAME)
GROUP_NAME_HINT = "group names are letters, digits, '_', '.' and '-' (at most 253)"
VARS_EXTENSIONS = (".yml", ".yaml", ".json")
# ansible-core's IGNORED_ALWAYS and INVENTORY_IGNORE_EXTS, for directories given as inventories
_IGNORED_EXTENSIONS = [
    ".pyc",
    ".pyo",
    ".swp",
    ".bak",
    "~",
    ".rpm",
    ".md",
    ".txt",
    ".rst",
    ".orig",
    ".cfg",
    ".retry",
]
_IGNORED_IN_DIRECTORY = re.compile(
    r"^\.|^host_vars$|^group_vars$|^vars_plugins$|"
    + "|".join(re.escape(ext) + "$" for ext in _IGNORED_EXTENSIONS)
)


class InventoryError(ValueError):
    """A rule of Ansible's inventory model was broken; the parser adds where."""

    GENERIC_HINT = "fix the inventory here: `ansible-inventory -i FILE --list` reads it alike"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint or self.GENERIC_HINT


@dataclass
class Group:
    """One group: its own hosts and children in the order they were added, its variables."""

    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    priority: int = 1


@dataclass
class Host:
    """One host: the groups it was put in (not their ancestors) and its own variables."""

    name: str
    groups: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class Inventory:
    """Ansible's ``InventoryData``: the same operations, the same rules, the same order."""

    groups: dict[str, Group] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    group_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.groups:
            self.add_group("all")
            self.add_group("ungrouped")
            self.add_child("all", "ungrouped")

    # -- building, as the parsers do it ------------------------------------------------

    def add_group(self, name: Any) -> str:
        if not isinstance(name, str) or not name:
            raise InventoryError(f"invalid group name {name!r}: a group name must be a string")
        if not GROUP_NAME_RE.fullmatch(name):
            raise InventoryError(f"invalid group name {name!r} ({GROUP_NAME_HINT})")
        self.groups.setdefault(name, Group(name))
        return name

    def add_host(self, name: Any, group: str | None = None, port: int | None = None) -> str:
        if not isinstance(name, str) or not name:
            raise InventoryError(f"invalid host name {name!r}: a host name must be a string")
        if not valid_host_name(name):
            raise InventoryError(f"invalid host name {name!r} ({HOST_NAME_HINT})")
        if group is not None and group not in self.groups:
            raise InventoryError(f"could not find group {group!r} in the inventory")
        if name not in self.hosts:
            self.hosts[name] = Host(name)
            if port is not None:  # as Ansible: only the first entry of a host sets its port
                self.hosts[name].vars["ansible_port"] = port
        if group is not None:
            self._put(self.groups[group], name)
        return name

    def set_variable(self, entity: str, key: Any, value: Any) -> None:
        """A variable of a group or a host (a group first, when both have that name: Ansible)."""
        if not isinstance(key, str) or not key:
            raise InventoryError(f"invalid variable name {key!r}")
        if entity in self.groups:
            if key == "ansible_group_priority":
                self.groups[entity].priority = _priority(entity, value)
            else:
                self.groups[entity].vars[key] = value
        elif entity in self.hosts:
            self.hosts[entity].vars[key] = value
        else:
            raise InventoryError(f"no group or host named {entity!r}")

    def add_child(self, group: str, child: str) -> None:
        parent = self.groups.get(group)
        if parent is None:
            raise InventoryError(f"{group!r} is not a known group")
        if child in self.groups:
            if child == group:
                raise InventoryError(
                    f"group {group!r} cannot be its own child",
                    hint="a group's `children:` name other groups; `all` holds every group already",
                )
            if child in parent.children:
                return
            if group in self._descendants(child):
                raise InventoryError(
                    f"adding group {child!r} as a child of {group!r} creates a loop"
                )
            parent.children.append(child)
            self.groups[child].parents.append(group)
        elif child in self.hosts:
            self._put(parent, child)
        else:
            raise InventoryError(f"{child!r} is not a known host nor group")

    def _put(self, group: Group, host: str) -> None:
        if host not in group.hosts:
            group.hosts.append(host)
            self.hosts[host].groups.append(group.name)

    def reconcile(self) -> None:
        """Ansible's ``reconcile_inventory``: orphan groups under ``all``, lone hosts ungrouped."""
        for name in list(self.groups):
            if name != "all" and not self.groups[name].parents:
                self.add_child("all", name)
        ungrouped = self.groups["ungrouped"]
        for name, host in self.hosts.items():
            mine = set(self._ancestors_of_host(host))
            if "ungrouped" in mine:
                if mine - {"all", "ungrouped"}:
                    ungrouped.hosts.remove(name)
                    host.groups.remove("ungrouped")
            elif not (mine - {"all"}):
                self._put(ungrouped, name)

    # -- reading ------------------------------------------------------------------------

    def depths(self) -> dict[str, int]:
        """Each group's depth: the longest path from ``all`` (Ansible's ``Group.depth``)."""
        depth: dict[str, int] = {}

        def visit(name: str) -> int:
            if name not in depth:
                parents = self.groups[name].parents
                depth[name] = 1 + max((visit(p) for p in parents), default=-1)
            return depth[name]

        for name in self.groups:
            visit(name)
        return depth

    def members(self, group: str) -> list[str]:
        """A group's hosts, its descendants' included, in Ansible's order (``get_hosts``)."""
        ordered = [group]
        level = list(self.groups[group].children)
        seen = {group}
        while level:
            ordered += [g for g in level if g not in ordered]
            seen.update(level)
            following: list[str] = []
            for name in level:
                following += [c for c in self.groups[name].children if c not in seen]
            level = list(dict.fromkeys(following))
        hosts: dict[str, None] = {}
        for name in ordered:
            hosts.update(dict.fromkeys(self.groups[name].hosts))
        return list(hosts)

    def host_groups(self, host: str) -> list[str]:
        """Every group ``host`` is in, directly or through a child group, in inventory order."""
        mine = set(self._ancestors_of_host(self.hosts[host]))
        return [g for g in self.groups if g in mine]

    def variables(self, host: str) -> dict[str, Any]:
        """``host``'s variables after Ansible's precedence (see the module docstring)."""
        depth = self.depths()
        ranked = sorted(
            (g for g in self.host_groups(host) if g != "all"),
            key=lambda g: (depth[g], self.groups[g].priority, g),
        )
        merged: dict[str, Any] = dict(self.groups["all"].vars)
        for name in ranked:
            merged.update(self.groups[name].vars)
        merged.update(self.group_files.get("all", {}))
        for name in ranked:
            merged.update(self.group_files.get(name, {}))
        merged.update(self.hosts[host].vars)
        merged.update(self.host_files.get(host, {}))
        return merged

    def resolved(self) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
        """Every host's merged variables, and every group's hosts (descendants included)."""
        hosts = {name: self.variables(name) for name in self.hosts}
        return hosts, {name: self.members(name) for name in self.groups}

    def _descendants(self, group: str) -> list[str]:
        found: list[str] = []
        todo = [group]
        while todo:
            for child in self.groups[todo.pop()].children:
                if child not in found:
                    found.append(child)
                    todo.append(child)
        return found

    def _ancestors_of_host(self, host: Host) -> list[str]:
        found: list[str] = []
        todo = list(host.groups)
        while todo:
            name = todo.pop()
            if name not in found:
                found.append(name)
                todo += self.groups[name].parents
        return found


def _priority(group: str, value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InventoryError(
            f"ansible_group_priority of group {group!r} must be an integer, got {value!r}"
        ) from None


# -- loading a source ------------------------------------------------------------------------


def load_inventory(path: Path) -> Inventory:
    """Read an inventory file or directory, its group_vars/ and host_vars/, as Ansible does."""
    from slipway.spec.inventory_yaml import load_vars_file

    if not path.exists():
        raise SpecError(f"inventory {str(path)!r} does not exist", location=None)
    inventory = Inventory()
    _parse_source(inventory, path)
    where = path if path.is_dir() else path.parent
    try:
        inventory.reconcile()
    except InventoryError as exc:
        raise SpecError(str(exc), location=Location(str(path), 1, 1), hint=exc.hint) from None
    for kind, names, found in (
        ("group_vars", list(inventory.groups), inventory.group_files),
        ("host_vars", list(inventory.hosts), inventory.host_files),
    ):
        directory = where / kind
        if not directory.is_dir():
            continue
        for name in names:
            merged: dict[str, Any] = {}
            for file in vars_files(directory, name):
                merged.update(load_vars_file(file))
            if merged:
                found[name] = merged
    return inventory


def _parse_source(inventory: Inventory, path: Path) -> None:
    from slipway.spec.inventory_ini import parse_ini
    from slipway.spec.inventory_yaml import load_document, parse_yaml_inventory

    if path.is_dir():
        for name in sorted(os.listdir(path)):
            if not _IGNORED_IN_DIRECTORY.search(name):
                _parse_source(inventory, path / name)
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read inventory {path}: {exc}", location=None) from None
    if os.access(path, os.X_OK):
        raise SpecError(
            f"inventory {path} is an executable (a dynamic inventory script)",
            location=Location(str(path), 1, 1),
            hint="the built-in reader reads INI and YAML files; `inventory: {path: …, "
            "reader: ansible}` reads it through ansible-inventory",
        )
    if path.suffix == ".toml":
        raise SpecError(
            "TOML inventories are not read by the built-in reader",
            location=Location(str(path), 1, 1),
            hint="use INI or YAML, or `reader: ansible`",
        )
    if path.suffix not in ("", *VARS_EXTENSIONS):
        parse_ini(inventory, path, text)
        return
    # Ansible tries its yaml plugin (these extensions, or none: by content), then ini
    try:
        document, syntax_error = load_document(path, text), None
    except SpecError as exc:
        document, syntax_error = None, exc
    if isinstance(document, dict) and document:
        parse_yaml_inventory(inventory, path, document)
        return
    try:
        parse_ini(inventory, path, text)
    except SpecError:
        if syntax_error is not None and (path.suffix or _looks_like_yaml(text)):
            raise syntax_error from None
        raise


def _looks_like_yaml(text: str) -> bool:
    """Whether a file without extension that no reader took was meant as YAML (for the error)."""
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.rstrip().endswith(":") or line.startswith("---")
    return False


def vars_files(directory: Path, name: str) -> list[Path]:
    """The files of ``group_vars/<name>`` or ``host_vars/<name>``: Ansible's ``find_vars_files``.

    ``<name>``, ``<name>.yml``, ``<name>.yaml``, ``<name>.json``: the first that
    exists wins; a directory gives every file under it, sorted, recursively,
    with no extension or one of those, skipping hidden and backup (``~``) files.
    """
    for ext in ("", *VARS_EXTENSIONS):
        candidate = directory / (name + ext)
        if candidate.is_dir():
            return _vars_directory(candidate)
        if candidate.exists():
            return [candidate]
    return []


def _vars_directory(directory: Path) -> list[Path]:
    found: list[Path] = []
    for name in sorted(os.listdir(directory)):
        if name.startswith(".") or name.endswith("~"):
            continue
        entry, ext = directory / name, os.path.splitext(name)[1]
        if entry.is_dir() and not ext:
            found += _vars_directory(entry)
        elif entry.is_file() and (not ext or ext in VARS_EXTENSIONS):
            found.append(entry)
    return found
