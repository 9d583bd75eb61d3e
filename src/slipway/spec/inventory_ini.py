"""INI inventories, parsed as ansible-core's ``ini`` inventory plugin parses them.

The state machine is Ansible's (``plugins/inventory/ini.py``): lines before
any section are hosts of ``ungrouped``; ``[g]``, ``[g:vars]`` and
``[g:children]`` switch what a line means; a ``# comment`` may follow a
section header; ``[g:children]`` may name groups declared further down, and
a group never declared by ``[g]`` or ``[g:children]`` is refused at the end,
like Ansible refuses the file.

Values are Python literals where they are one, strings otherwise
(``ast.literal_eval``, as in Ansible): ``motd="Welcome to prod"`` loses its
quotes, ``timeout=30   # seconds`` is 30, ``zip=08`` stays the string
``"08"``, ``enabled=true`` stays the string ``"true"`` (``True`` is a bool),
``ports=[80, 443]`` is a list. Host lines are split with ``shlex`` first
(quotes removed, ``#`` comments dropped), then each value goes through the
same rule.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from pathlib import Path
from typing import Any

from slipway.errors import Location, SpecError
from slipway.spec.inventory import GROUP_NAME_HINT, Inventory, InventoryError
from slipway.spec.inventory_hosts import HOST_NAME_HINT, expand_host_pattern_at

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
_GROUP_LINE = re.compile(r"^([^:\]\s]+)\s*(?:#.*)?$")
MAX_VALUE = 100_000


def parse_ini(inventory: Inventory, path: Path, text: str) -> None:
    """Add the hosts, groups and variables of an INI inventory to ``inventory``."""
    pending: dict[str, dict[str, Any]] = {}
    group, state = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        where = Location(str(path), number, len(raw) - len(raw.lstrip()) + 1)
        try:
            header = _SECTION.fullmatch(line)
            if header:
                group, state = _section(inventory, pending, header, number)
            elif line.startswith("[") and (line.endswith("]") or "]:" not in line):
                raise SpecError(
                    f"invalid section {line!r}",
                    location=where,
                    hint="sections look like [web], [web:vars] or [prod:children], with no "
                    f"spaces inside the brackets; {GROUP_NAME_HINT}",
                )
            elif state == "hosts":
                _host_line(inventory, group, line, raw, where)
            elif state == "vars":
                key, sep, value = line.partition("=")
                if not sep or not key.strip():
                    raise SpecError(
                        f"expected key=value in [{group}:vars], got {line!r}",
                        location=where,
                        hint="like http_port=8080",
                    )
                inventory.set_variable(group, key.strip(), parse_value(value.strip()))
            else:
                _child_line(inventory, pending, group, line, number, where)
        except InventoryError as exc:
            raise SpecError(
                str(exc), location=where, hint=_hint_for(str(exc)) or exc.hint
            ) from None
    for name, declaration in pending.items():
        at = Location(str(path), declaration["line"], 1)
        if declaration["state"] == "vars":
            raise SpecError(
                f"section [{name}:vars] is for group {name!r}, which is not defined",
                location=at,
                hint=f"declare it with a [{name}] or [{name}:children] section (Ansible refuses "
                "the file too)",
            )
        raise SpecError(
            f"section [{declaration['parents'][-1]}:children] includes undefined group {name!r}",
            location=at,
            hint=f"declare it with a [{name}] or [{name}:children] section (Ansible refuses the "
            "file too)",
        )


def _section(
    inventory: Inventory, pending: dict[str, dict[str, Any]], header: re.Match[str], number: int
) -> tuple[str, str]:
    group, state = header.group(1), header.group(2) or "hosts"
    if state not in ("hosts", "children", "vars"):
        raise InventoryError(f"section [{group}:{state}] has an unknown type {state!r}")
    if group not in inventory.groups:
        # [g] or [g:children] declares a group; [g:vars] alone does not (checked at the end)
        if state == "vars" and group not in pending:
            pending[group] = {"line": number, "state": state}
        inventory.add_group(group)
    if group in pending and state != "vars":
        if pending[group]["state"] == "children":
            _add_pending_children(inventory, group, pending)
        else:
            del pending[group]
    return group, state


def _add_pending_children(
    inventory: Inventory, group: str, pending: dict[str, dict[str, Any]]
) -> None:
    for parent in pending[group]["parents"]:
        inventory.add_child(parent, group)
        if parent in pending and pending[parent]["state"] == "children":
            _add_pending_children(inventory, parent, pending)
    del pending[group]


def _child_line(
    inventory: Inventory,
    pending: dict[str, dict[str, Any]],
    group: str,
    line: str,
    number: int,
    where: Location,
) -> None:
    found = _GROUP_LINE.fullmatch(line)
    if not found:
        raise SpecError(
            f"expected a group name in [{group}:children], got {line!r}",
            location=where,
            hint="one group name per line",
        )
    child = found.group(1)
    if child in inventory.groups:
        inventory.add_child(group, child)
    elif child in pending:
        pending[child].setdefault("parents", []).append(group)
    else:
        pending[child] = {"line": number, "state": "children", "parents": [group]}


def _host_line(inventory: Inventory, group: str, line: str, raw: str, where: Location) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise SpecError(
            f"cannot split this host line: {exc}", location=where, hint="check the quotes"
        ) from None
    if not tokens:
        return
    pattern = tokens[0]
    names, port = expand_host_pattern_at(pattern, where)
    if pattern.strip().endswith(":") and port is None:
        raise SpecError(
            f"invalid host {pattern!r}: a trailing ':' is reserved for a port",
            location=where,
            hint="web1:2222, or remove the ':'",
        )
    if any(name.strip() == "---" for name in names):
        raise SpecError(
            "a host named '---' is usually the sign of a YAML file read as INI",
            location=where,
            hint="give a YAML inventory a .yml extension",
        )
    variables: dict[str, Any] = {}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            column = raw.find(token) + 1 if token in raw else where.column
            raise SpecError(
                f"expected key=value after the host name, got {token!r}",
                location=Location(where.file, where.line, column),
                hint="host lines: NAME key=value …",
            )
        variables[key] = parse_value(value)
    for name in names:
        inventory.add_host(name, group, port)
        for key, value in variables.items():
            inventory.set_variable(name, key, value)


def parse_value(text: str) -> Any:
    """An INI value as Ansible reads it: a Python literal when it is one, else the string."""
    value: Any = text
    if len(text) <= MAX_VALUE:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = text
    return _coerce(value)


def _coerce(value: Any) -> Any:
    """Ansible's ``_parse_recursive_coerce_types_and_tag``: only JSON-like types survive."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_coerce(v) for v in value]
    if isinstance(value, dict):
        return {_coerce(k): _coerce(v) for k, v in value.items()}
    if value is ...:
        return "..."
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    return value


def _hint_for(message: str) -> str | None:
    if "host name" in message:
        return HOST_NAME_HINT
    if "group name" in message:
        return GROUP_NAME_HINT
    return None
