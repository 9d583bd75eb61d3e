"""YAML (and JSON) inventories and variable files, read as ansible-core reads them.

Ansible loads every such file with PyYAML's YAML 1.1 resolver, after trying
JSON first (``parsing/utils/yaml.py``): ``yes``/``off`` are booleans,
``0644`` is octal (420), ``1:30`` is 90, ``2024-01-01`` is a date. The same
library is used here, so values come out as Ansible sees them. Mappings keep
where each key was written, for errors with ``file:line:column``.

The YAML inventory structure is Ansible's ``yaml`` plugin: top-level keys are
groups, each with ``hosts`` (a mapping of host patterns to their variables),
``vars`` and ``children`` (a mapping of groups, recursively); a section may be
a single name instead of a mapping. What Ansible skips with a warning — a key
other than those three, a group that is not a mapping — is refused here.

Aliases are allowed (Ansible allows them) but their expansion is bounded: a
document whose nodes, aliases expanded, pass ``MAX_NODES`` is refused, so a
"billion laughs" file cannot eat the machine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from slipway.errors import Location, SpecError
from slipway.spec.inventory import Inventory, InventoryError
from slipway.spec.inventory_hosts import HOST_NAME_HINT, expand_host_pattern_at

MAX_NODES = 200_000
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LocatedMap(dict[Any, Any]):
    """A mapping that remembers where it and each of its keys were written (1-based)."""

    line: int = 1
    column: int = 1

    def __init__(self) -> None:
        super().__init__()
        self.keys_at: dict[Any, tuple[int, int]] = {}


class _Loader(_BaseLoader):  # type: ignore[misc]
    """PyYAML's safe loader (YAML 1.1, as Ansible) whose mappings know their positions."""


def _construct_map(loader: Any, node: yaml.MappingNode) -> Iterator[LocatedMap]:
    data = LocatedMap()
    data.line, data.column = node.start_mark.line + 1, node.start_mark.column + 1
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        try:
            key = loader.construct_object(key_node)
            mark = key_node.start_mark
            data.keys_at.setdefault(key, (mark.line + 1, mark.column + 1))
        except TypeError:
            continue


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def load_document(path: Path, text: str) -> Any:
    """The data of a JSON or YAML document; ``SpecError`` with the position of a syntax error."""
    try:
        as_json = json.loads(text)
    except (ValueError, RecursionError):
        as_json = None
    else:
        try:
            located = _load_yaml(path, text)
        except SpecError:
            return as_json
        return located if located == as_json else as_json
    return _load_yaml(path, text)


def _load_yaml(path: Path, text: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(path, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(str(path), mark.line + 1, mark.column + 1) if mark else None
        raise SpecError(
            f"YAML: {exc.problem or exc.context}",
            location=where,
            hint="Ansible inventories and vars files are YAML 1.1 (or JSON)",
        ) from None
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        where = Location(str(path), before.count("\n") + 1, len(before) - before.rfind("\n"))
        raise SpecError(
            f"YAML: unacceptable character {exc.character!r}",
            location=where,
            hint="control characters (like NUL) are not allowed in YAML",
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML: {exc}", location=Location(str(path), 1, 1)) from None
    except RecursionError:
        raise SpecError("YAML nested too deeply", location=Location(str(path), 1, 1)) from None
    finally:
        loader.dispose()


def _check_size(path: Path, root: yaml.Node) -> None:
    """Refuse a document whose aliases would expand past ``MAX_NODES`` nodes."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 1  # a recursive alias counts once; PyYAML refuses those anyway
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        sizes[id(node)] = total
        if total > MAX_NODES:
            mark = node.start_mark
            raise SpecError(
                f"this YAML expands to more than {MAX_NODES} values (aliases included)",
                location=Location(str(path), mark.line + 1, mark.column + 1),
                hint="an inventory this large is usually a YAML alias bomb; write it out plainly",
            )
        return total

    size(root)


def load_vars_file(path: Path) -> dict[str, Any]:
    """A ``group_vars``/``host_vars`` file: a mapping, or empty (ignored, as Ansible)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}", location=None) from None
    if text.startswith("$ANSIBLE_VAULT"):
        raise SpecError(
            f"{path} is encrypted with ansible-vault",
            location=Location(str(path), 1, 1),
            hint="the built-in reader cannot decrypt it; `inventory: {path: …, reader: "
            "ansible, vault_password_file: …}` reads it through ansible-inventory",
        )
    data = load_document(path, text)
    if not data:
        return {}
    if not isinstance(data, dict):
        raise SpecError(
            f"{path.name} must be a mapping of variables, not a {type(data).__name__}",
            location=Location(str(path), 1, 1),
            hint="like `ansible_user: deploy`",
        )
    return dict(data)


def parse_yaml_inventory(inventory: Inventory, path: Path, document: dict[Any, Any]) -> None:
    """Add the groups, hosts and variables of a YAML inventory (already loaded) to ``inventory``."""
    if document.get("plugin"):
        raise SpecError(
            f"{path.name} configures the inventory plugin {document['plugin']!r}",
            location=_at(path, document, "plugin"),
            hint="the built-in reader reads INI and YAML inventories; `inventory: {path: …, "
            "reader: ansible}` runs plugins through ansible-inventory",
        )
    for name in list(document):
        _group(inventory, path, name, document[name], document)


def _group(inventory: Inventory, path: Path, name: Any, body: Any, parent: dict[Any, Any]) -> str:
    where = _at(path, parent, name)
    if not isinstance(body, dict | type(None)):
        raise SpecError(
            f"group {name!r} must be a mapping (with hosts, vars, children) or empty, "
            f"not a {type(body).__name__}",
            location=where,
            hint="like `web: {hosts: {web1: {}, web2: {}}}`",
        )
    group: str = _model(inventory.add_group, where, name)
    if body is None:
        return group
    for section in ("vars", "children", "hosts"):
        value = body.get(section)
        if isinstance(value, str):
            single = LocatedMap()
            single.line, single.column = _position(body, section)
            single[value] = None
            body[section] = value = single
        if not isinstance(value, dict | type(None)):
            raise SpecError(
                f"{section!r} of group {group!r} must be a mapping, not a {type(value).__name__}",
                location=_at(path, body, section),
                hint=f"write `{section}:` as a mapping: `{section}: {{name1: , name2: }}`, "
                "not a list `- name1`",
            )
    for key in list(body):
        if key not in ("vars", "children", "hosts"):
            raise SpecError(
                f"unknown key {key!r} in group {group!r}",
                location=_at(path, body, key),
                hint="a group has hosts, vars and children (Ansible skips anything else with a "
                "warning)",
            )
        section = body[key]
        if section is None:
            continue
        if key == "vars":
            for var in section:
                _model(inventory.set_variable, _at(path, section, var), group, var, section[var])
        elif key == "children":
            for child in list(section):
                added = _group(inventory, path, child, section[child], section)
                _model(inventory.add_child, _at(path, section, child), group, added)
        else:
            for pattern in list(section):
                _hosts(inventory, path, group, pattern, section)
    return group


def _hosts(
    inventory: Inventory, path: Path, group: str, pattern: Any, section: dict[Any, Any]
) -> None:
    where = _at(path, section, pattern)
    if not isinstance(pattern, str):
        raise SpecError(
            f"host pattern {pattern!r} must be a string",
            location=where,
            hint="enclose numbers in quotes",
        )
    names, port = expand_host_pattern_at(pattern, where)
    variables = section[pattern] or {}
    if not isinstance(variables, dict):
        raise SpecError(
            f"the variables of host {pattern!r} must be a mapping, not a "
            f"{type(variables).__name__}",
            location=where,
            hint="like `web1: {ansible_host: 192.0.2.10}`",
        )
    for name in names:
        _model(inventory.add_host, where, name, group, port)
        for key, value in variables.items():
            _model(inventory.set_variable, where, name, key, value)


def _model(operation: Any, where: Location, *args: Any) -> Any:
    try:
        return operation(*args)
    except InventoryError as exc:
        hint = HOST_NAME_HINT if "host name" in str(exc) else exc.hint
        raise SpecError(str(exc), location=where, hint=hint) from None


def _position(mapping: Any, key: Any) -> tuple[int, int]:
    if isinstance(mapping, LocatedMap):
        return mapping.keys_at.get(key, (mapping.line, mapping.column))
    return 1, 1


def _at(path: Path, mapping: Any, key: Any) -> Location:
    return Location(str(path), *_position(mapping, key))
