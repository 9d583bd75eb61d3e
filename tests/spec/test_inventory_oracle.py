"""Slipway reads every inventory of the corpus exactly as ansible-core does.

The oracle is ansible-core itself (``ansible_oracle``): for each inventory of
``tests/spec/inventories/`` (INI, YAML, JSON, files without extension,
directories with ``group_vars/`` and ``host_vars/``), ``ansible-inventory
--list`` gives the groups (their own hosts and children, in order) and every
host's variables; Slipway's reading must give the same, and its fleet must
reach each host at the address, port, user and key Ansible would use
(ansible-core's own ``MAGIC_VARIABLE_MAPPING`` decides which variable wins).
Host patterns and ``--limit`` are compared with ``ansible --list-hosts``,
order included (where Ansible's order is defined: see ``order_is_defined``);
where Ansible ignores a term that matches nothing (with a warning), Slipway
must refuse the pattern.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from slipway.errors import UsageError
from slipway.spec.fleet import SshTargetSpec, resolve_fleet
from slipway.spec.inventory import Inventory, load_inventory
from slipway.spec.patterns import limit_hosts, select_hosts
from tests.spec import ansible_oracle as oracle

CORPUS = Path(__file__).parent / "inventories"
SOURCES = [
    *sorted(p.name for p in CORPUS.iterdir() if not p.name.startswith(".")),
    "dir-group-vars/hosts.ini",  # a file source: group_vars/ beside it, not in it
]


def plain(value: Any) -> Any:
    """A value as Ansible's JSON output shows it (dates as ISO strings)."""

    def default(thing: Any) -> Any:
        if isinstance(thing, datetime.date):
            return thing.isoformat()
        raise TypeError(f"{thing!r} is not JSON")

    return json.loads(json.dumps(value, default=default))


def slipway_groups(inventory: Inventory) -> dict[str, dict[str, list[str]]]:
    """Slipway's groups shaped like Ansible's listing (empty groups left out, as it does)."""
    shaped = {}
    for name, group in inventory.groups.items():
        hosts = [] if name == "all" else group.hosts
        if hosts or group.children:
            shaped[name] = {"hosts": list(hosts), "children": list(group.children)}
    return shaped


def ansible_ancestors(listing: dict[str, Any], host: str) -> list[str]:
    groups = oracle.groups_of(listing)
    mine = {g for g, body in groups.items() if host in body["hosts"]}
    grew = True
    while grew:
        parents = {g for g, body in groups.items() if mine & set(body["children"])}
        grew = not parents <= mine
        mine |= parents
    return sorted(mine - {"all"})


def test_the_corpus_covers_every_form() -> None:
    kinds = {p.suffix or ("dir" if p.is_dir() else "none") for p in CORPUS.iterdir()}
    assert {".ini", ".yml", ".yaml", ".json", "dir", "none"} <= kinds
    assert len(SOURCES) >= 20


@pytest.mark.parametrize("source", SOURCES)
def test_groups_hosts_and_variables_are_ansibles(source: str) -> None:
    path = CORPUS / source
    listing = oracle.inventory_list(path)
    inventory = load_inventory(path)

    assert slipway_groups(inventory) == oracle.groups_of(listing)
    expected_vars = listing["_meta"]["hostvars"]
    for host in inventory.hosts:
        assert plain(inventory.variables(host)) == expected_vars.get(host, {}), host
    assert set(expected_vars) <= set(inventory.hosts)


@pytest.mark.parametrize("source", SOURCES)
def test_each_host_is_reached_as_ansible_would(source: str) -> None:
    path = CORPUS / source
    listing = oracle.inventory_list(path)
    table = oracle.connection_variables()
    spec = SshTargetSpec.model_validate(
        {"type": "ssh", "inventory": str(path), "deploy_to": "/srv/app"}
    )
    fleet = resolve_fleet(spec, root=CORPUS, locate=lambda *loc: None)

    def first(variables: dict[str, Any], setting: str) -> Any:
        return next((variables[v] for v in table[setting] if v in variables), None)

    every_connection_var = {v for names in table.values() for v in names}
    for name, host in fleet.hosts.items():
        variables = listing["_meta"]["hostvars"].get(name, {})
        key = first(variables, "private_key_file")
        assert host.address == (first(variables, "remote_addr") or name), name
        assert host.port == int(first(variables, "port") or 22), name
        assert host.user == (first(variables, "remote_user") or "root"), name
        assert host.key_file == (CORPUS / key if key else None), name
        assert plain(host.vars) == {
            k: v for k, v in variables.items() if k not in every_connection_var
        }, name
        assert host.groups == ansible_ancestors(listing, name), name


PATTERNS = [
    ("ini-basic.ini", pattern, None)
    for pattern in [
        "all",
        "*",
        "web",
        "web1",
        "web1,db1",
        "db1:web1",
        "db1,web",
        "web:&prod",
        "web:!canary",
        "!canary:web",
        "&web",
        "web*",
        "?b1",
        "~(web|db)1",
        "~web",
        "web[0]",
        "web[-1]",
        "web[0:1]",
        "web[1:]",
        "prod[2:]",
        "web[0-1]",
        "web1[0]",
        "web,db:&prod",
        "web:db:&prod",
        "web,db,&prod",
        "ungrouped",
        "prod:&web:!web2",
        "all:!ungrouped",
        "web0[12]",
        "web:&db",
        " web1 , web2 ",
    ]
] + [
    ("ini-basic.ini", "all", "web[0]"),
    ("ini-basic.ini", "all", "web,!web2"),
    ("ini-basic.ini", "prod", "db"),
    ("ini-basic.ini", "web", "canary:bastion"),
    ("ini-basic.ini", "all", "web:&canary"),
    ("ini-same-name.ini", "db", None),
    ("ini-same-name.ini", "all:&db", None),
    ("ini-same-name.ini", "all:!db", None),
    ("ini-deep.ini", "all", None),
    ("ini-deep.ini", "web", None),
    ("ini-deep.ini", "eu:&web", None),
    ("ini-deep.ini", "eu_*", None),
    ("ini-hosts-forms.ini", "node*", None),
    ("ini-hosts-forms.ini", "rack-[A:C]", None),
    ("ini-hosts-forms.ini", "web[2:4]", None),
    ("ini-ungrouped.ini", "ungrouped", None),
    ("ini-ungrouped.ini", "all", None),
    ("yaml-basic.yml", "all", None),
    ("yaml-basic.yml", "prod[1]", None),
    ("yaml-empty-groups.yml", "all", None),
    ("dir-multi", "all", None),
    ("dir-multi", "ungrouped", None),
]


@pytest.mark.parametrize(("source", "pattern", "limit"), PATTERNS)
def test_patterns_select_what_ansible_selects(source: str, pattern: str, limit: str | None) -> None:
    path = CORPUS / source
    expected, warnings = oracle.list_hosts(path, pattern, limit=limit)
    ignored = "Could not match supplied host pattern" in warnings
    inventory = load_inventory(path)
    hosts, groups = list(inventory.hosts), {g: inventory.members(g) for g in inventory.groups}

    def slipway() -> list[str]:
        chosen = select_hosts(pattern, hosts=hosts, groups=groups)
        return chosen if limit is None else limit_hosts(limit, chosen, hosts=hosts, groups=groups)

    if ignored or expected is None:
        with pytest.raises(UsageError):
            slipway()
    elif order_is_defined(inventory):
        assert slipway() == expected
    else:
        assert sorted(slipway()) == sorted(expected)


def order_is_defined(inventory: Inventory) -> bool:
    """Whether Ansible's order of every group's hosts is defined.

    ``Group.get_hosts`` walks descendants level by level, but iterates each
    level as a *set* of Group objects, hashed by their address: when two groups
    of one level both have children, the order of those children (and so of
    their hosts) changes with memory layout. Only membership is compared then.
    """
    for group in inventory.groups:
        level, seen = [group], {group}
        while level:
            parents = [g for g in level if set(inventory.groups[g].children) - seen]
            if len(parents) > 1:
                return False
            following = [c for g in level for c in inventory.groups[g].children if c not in seen]
            seen.update(following)
            level = following
    return True


def test_a_retry_file_limits_like_ansible(tmp_path: Path) -> None:
    retry = tmp_path / "site.retry"
    retry.write_text("web3\ndb1\n\n")
    path = CORPUS / "ini-basic.ini"
    expected, warnings = oracle.list_hosts(path, "all", limit=f"@{retry}")
    assert expected == ["web3", "db1"] and "Could not match" not in warnings
    inventory = load_inventory(path)
    hosts, groups = list(inventory.hosts), {g: inventory.members(g) for g in inventory.groups}
    chosen = select_hosts("all", hosts=hosts, groups=groups)
    assert limit_hosts("@site.retry", chosen, hosts=hosts, groups=groups, cwd=tmp_path) == expected
