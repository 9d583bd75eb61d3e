"""Ansible inventories (INI and YAML) read into hosts, groups and per-host variables.

Teams that already keep their servers in an Ansible inventory point
``inventory:`` at it instead of listing hosts twice. The subset read here is
what such inventories use: groups, ``[group:vars]``, ``[group:children]``,
inline host variables, ranges like ``web[01:03]``, and the YAML form with
``hosts``/``vars``/``children``. ``ansible_host``, ``ansible_port``,
``ansible_user`` and ``ansible_ssh_private_key_file`` say how to connect;
every other variable stays a host variable. Group variables apply to the
group's hosts and to its children's; a host's own variables win.

Mistakes are ``SpecError``s pointing into the inventory file.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from slipway.errors import Location, SpecError

HOST_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
GROUP_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
RANGE_RE = re.compile(r"\[([0-9]+|[a-z]):([0-9]+|[a-z])\]")


@dataclass
class Inventory:
    """Hosts in file order, their variables, and each group's hosts (children included)."""

    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    group_vars: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_host(self, name: str, group: str | None, variables: dict[str, Any]) -> None:
        self.hosts.setdefault(name, {}).update(variables)
        if group is not None:
            members = self.groups.setdefault(group, [])
            if name not in members:
                members.append(name)

    def resolved(self) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
        """Every host's variables (groups' applied, the host's own winning) and every group's
        hosts, its children's included."""
        members = {g: self._members(g, set()) for g in {*self.groups, *self.children}}
        merged: dict[str, dict[str, Any]] = {}
        for host, own in self.hosts.items():
            variables: dict[str, Any] = dict(self.group_vars.get("all", {}))
            for group in self._depth_order():
                if host in members.get(group, []):
                    variables.update(self.group_vars.get(group, {}))
            variables.update(own)
            merged[host] = variables
        order = list(self.hosts)
        return merged, {g: [h for h in order if h in set(m)] for g, m in members.items()}

    def _members(self, group: str, seen: set[str]) -> list[str]:
        if group in seen:
            return []
        seen.add(group)
        found = list(self.groups.get(group, []))
        for child in self.children.get(group, []):
            found += self._members(child, seen)
        return found

    def _depth_order(self) -> list[str]:
        """Parents before children, so a child group's variables win over its parent's."""
        depth: dict[str, int] = {}

        def visit(group: str, level: int, path: frozenset[str]) -> None:
            if group in path:
                return
            depth[group] = max(depth.get(group, 0), level)
            for child in self.children.get(group, []):
                visit(child, level + 1, path | {group})

        for group in {*self.groups, *self.children}:
            visit(group, 0, frozenset())
        return sorted(depth, key=lambda g: (depth[g], g))


def expand_range(name: str) -> list[str]:
    """``web[01:03]`` → web01, web02, web03 (zero padding kept); ``db-[a:c]`` → db-a … db-c."""
    found = RANGE_RE.search(name)
    if not found:
        return [name]
    low, high = found.group(1), found.group(2)
    head, tail = name[: found.start()], name[found.end() :]
    if low.isdigit() and high.isdigit():
        width = len(low) if low.startswith("0") else 0
        items = [str(i).zfill(width) for i in range(int(low), int(high) + 1)]
    elif low.isalpha() and high.isalpha():
        items = [chr(c) for c in range(ord(low), ord(high) + 1)]
    else:
        raise ValueError(f"range [{low}:{high}] mixes letters and digits")
    return [n for item in items for n in expand_range(head + item + tail)]


def load_inventory(path: Path) -> Inventory:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read inventory {path}: {exc}", location=None) from exc
    if path.suffix in (".yml", ".yaml"):
        return _load_yaml(path, text)
    return _load_ini(path, text)


def _scalar(value: str) -> Any:
    if re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _fail(path: Path, line: int, message: str, hint: str, column: int = 1) -> SpecError:
    return SpecError(message, location=Location(str(path), line, column), hint=hint)


def _load_ini(path: Path, text: str) -> Inventory:
    inv = Inventory()
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue

        if line.startswith("["):
            header = re.fullmatch(r"\[([^\]:]+)(?::(vars|children))?\]", line)
            if not header or not GROUP_RE.fullmatch(header.group(1)):
                raise _fail(
                    path,
                    number,
                    f"invalid section {line!r}",
                    "sections look like [web], [web:vars] or [prod:children]",
                )
            section, kind = header.group(1), header.group(2) or "hosts"
            inv.groups.setdefault(section, []) if kind == "hosts" else None
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise _fail(
                path, number, f"cannot split this line: {exc}", "check the quotes"
            ) from None
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise _fail(
                    path, number, "expected key=value in a :vars section", "like http_port=8080"
                )
            inv.group_vars.setdefault(section, {})[key.strip()] = _scalar(value.strip())
            continue
        if kind == "children":
            if not GROUP_RE.fullmatch(words[0]):
                raise _fail(
                    path, number, f"invalid group name {words[0]!r}", "letters, digits, _ and -"
                )
            inv.children.setdefault(section, []).append(words[0])
            continue
        variables: dict[str, Any] = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if not sep:
                column = raw.find(word) + 1
                raise _fail(
                    path,
                    number,
                    f"expected key=value, got {word!r}",
                    "host lines: NAME key=value …",
                    column,
                )
            variables[key] = _scalar(value)
        try:
            names = expand_range(words[0])
        except ValueError as exc:
            raise _fail(path, number, str(exc), "ranges look like web[01:10] or db-[a:c]") from None
        for name in names:
            if not HOST_RE.fullmatch(name):
                raise _fail(
                    path,
                    number,
                    f"invalid host name {name!r}",
                    "letters, digits, '.', '_' and '-' (at most 63)",
                )
            inv.add_host(name, None if section == "ungrouped" else section, variables)
    return inv


def _load_yaml(path: Path, text: str) -> Inventory:
    try:
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Location(str(path), mark.line + 1, mark.column + 1) if mark else None
        raise SpecError(f"YAML syntax error: {exc.problem}", location=where) from None
    if not isinstance(document, CommentedMap):
        raise SpecError(
            "an inventory must be a mapping of groups (all: {hosts: …, children: …})",
            location=Location(str(path), 1, 1),
        )
    inv = Inventory()
    for group, body in document.items():
        _yaml_group(path, inv, str(group), body, document, group)
    return inv


def _where(path: Path, node: Any, key: Any) -> Location:
    if isinstance(node, CommentedMap) and key in node:
        line, col = node.lc.key(key)
        return Location(str(path), line + 1, col + 1)
    return Location(str(path), 1, 1)


def _yaml_group(path: Path, inv: Inventory, group: str, body: Any, parent: Any, key: Any) -> None:
    if not GROUP_RE.fullmatch(group):
        raise SpecError(
            f"invalid group name {group!r}",
            location=_where(path, parent, key),
            hint="letters, digits, _ and -",
        )
    inv.groups.setdefault(group, [])
    if body is None:
        return
    if not isinstance(body, CommentedMap):
        raise SpecError(
            f"group {group!r} must be a mapping with hosts, vars or children",
            location=_where(path, parent, key),
        )
    for part in body:
        if part not in ("hosts", "vars", "children"):
            raise SpecError(
                f"unknown key {part!r} in group {group!r}",
                location=_where(path, body, part),
                hint="a group has hosts, vars and children",
            )
    for name, variables in (body.get("hosts") or {}).items():
        if not isinstance(variables, dict | type(None)):
            raise SpecError(
                f"host {name!r}: its variables must be a mapping",
                location=_where(path, body["hosts"], name),
            )
        for host in expand_range(str(name)):
            if not HOST_RE.fullmatch(host):
                raise SpecError(
                    f"invalid host name {host!r}",
                    location=_where(path, body["hosts"], name),
                    hint="letters, digits, '.', '_' and '-' (at most 63)",
                )
            inv.add_host(host, group, dict(variables or {}))
    inv.group_vars.setdefault(group, {}).update(dict(body.get("vars") or {}))
    for child, child_body in (body.get("children") or {}).items():
        inv.children.setdefault(group, []).append(str(child))
        _yaml_group(path, inv, str(child), child_body, body["children"], child)
