"""Ansible inventories: structure, values, and every mistake told with file:line:column and a hint.

What Ansible reads the same way is checked against ansible-core itself in
``test_inventory_oracle.py``; this file holds the cases Ansible has no
answer to compare with — the refusals (with where and how to fix) and the
values Slipway keeps out of configs and commands.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec.inventory import load_inventory
from slipway.spec.inventory_hosts import expand_range
from slipway.spec.inventory_ini import parse_value

CORPUS = Path(__file__).parent / "inventories"

INI = """\
# the fleet
lb1 ansible_host=198.18.0.9

[web]   # front ends
web[01:03] ansible_user=deploy
web04 ansible_host=198.18.0.14 ansible_port=2222 role="front end"

[db]
db-[a:b]

[web:vars]
http_port=8080
tier=web

[prod:children]
web
db

[prod:vars]
tier=prod
env=production
"""


def test_ini_hosts_groups_children_and_variables(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    hosts, groups = load_inventory(path).resolved()
    assert list(hosts) == ["lb1", "web01", "web02", "web03", "web04", "db-a", "db-b"]
    assert groups["web"] == ["web01", "web02", "web03", "web04"]
    assert groups["prod"] == ["web01", "web02", "web03", "web04", "db-a", "db-b"]
    assert groups["ungrouped"] == ["lb1"]
    assert hosts["web04"]["ansible_port"] == 2222
    assert hosts["web04"]["role"] == "front end"
    assert hosts["web01"]["ansible_user"] == "deploy"
    assert hosts["web01"]["http_port"] == 8080
    # the child group's variables win over its parent's
    assert hosts["web01"]["tier"] == "web" and hosts["db-a"]["tier"] == "prod"
    assert hosts["lb1"] == {"ansible_host": "198.18.0.9"}


def test_the_order_never_depends_on_hashing(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    inventory = load_inventory(path)
    assert list(inventory.groups) == ["all", "ungrouped", "web", "db", "prod"]
    assert inventory.host_groups("web01") == ["all", "web", "prod"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"Welcome to prod"', "Welcome to prod"),
        ("30   # seconds", 30),
        ("08", "08"),
        ("true", "true"),
        ("True", True),
        ("[80, 443]", [80, 443]),
        ("(1, 2)", [1, 2]),
        ("1+2j", "(1+2j)"),
        ("...", "..."),
        ("b'raw'", "raw"),
        ("a=b", "a=b"),
        ("", ""),
        ("[" * 500 + "]" * 500, "[" * 500 + "]" * 500),  # too deep for a literal: a string
    ],
)
def test_ini_values_are_parsed_like_ansible(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_ranges() -> None:
    assert expand_range("web[8:10]") == ["web8", "web9", "web10"]
    assert expand_range("w[01:02]-[a:b]") == ["w01-a", "w01-b", "w02-a", "w02-b"]
    assert expand_range("node[1:10:3]") == ["node1", "node4", "node7", "node10"]
    assert expand_range("rack-[A:C]") == ["rack-A", "rack-B", "rack-C"]
    assert expand_range("plain") == ["plain"]


@pytest.mark.parametrize(
    ("text", "line", "words", "hint"),
    [
        ("[web\nweb1\n", 1, "invalid section", "sections look like"),
        ("[web servers]\nweb1\n", 1, "invalid section", "no spaces"),
        ("[we$b]\nweb1\n", 1, "invalid group name", "letters, digits"),
        ("[web:host]\nweb1\n", 1, "unknown type", None),
        ("[web]\nweb1 ansible_port\n", 2, "expected key=value", "NAME key=value"),
        ("[web]\nweb;1\n", 2, "invalid host name", "ansible_host"),
        ("[web]\n-web1\n", 2, "invalid host name", "ansible_host"),
        ("[web]\nweb\x01\n", 2, "invalid host name", "ansible_host"),
        ("[web]\nweb1:\n", 2, "reserved for a port", "web1:2222"),
        ("[web]\n---\n", 2, "YAML", ".yml"),
        ("[web]\nweb[1:x]\n", 2, "invalid host range", "ranges look like"),
        ("[web]\nweb[01:100]\n", 2, "same width", "ranges look like"),
        ("[web]\nweb1 motd='unclosed\n", 2, "cannot split", "quotes"),
        ("[web:vars]\nnot a pair\n", 2, "key=value", "http_port=8080"),
        ("[web]\nweb1\n[web:vars]\n=1\n", 4, "key=value", "http_port=8080"),
        ("[prod:children]\nweb\n", 2, "undefined group 'web'", "declare it"),
        ("[web]\nw1\n[prod:children]\nweb\ndb\n", 5, "undefined group 'db'", "declare it"),
        ("[web:vars]\nx=1\n", 1, "[web:vars] is for group 'web', which is not defined", "[web]"),
        ("[a:children]\nb\n[b:children]\na\n", 4, "creates a loop", None),
        ("[a:children]\na\n", 2, "its own child", None),
        ("[g]\nh\n[g:vars]\nansible_group_priority=high\n", 4, "must be an integer", None),
    ],
)
def test_ini_mistakes_point_at_their_line(
    tmp_path: Path, text: str, line: int, words: str, hint: str | None
) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_inventory(path)
    assert caught.value.location is not None and caught.value.location.file == str(path)
    assert caught.value.location.line == line
    assert words in caught.value.message
    if hint is not None:
        assert hint in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("all:\n  children:\n    web:\n      hostz:\n        web1:\n", 4, 7, "unknown key 'hostz'"),
        (
            "web:\n  hosts:\n    - web1\n    - web2\n",
            2,
            3,
            "'hosts' of group 'web' must be a mapping",
        ),
        ("all:\n  children:\n    - web\n", 2, 3, "'children' of group 'all' must be a mapping"),
        ("all:\n  vars: [a]\n", 2, 3, "'vars' of group 'all' must be a mapping"),
        ("web: [web1, web2]\n", 1, 1, "group 'web' must be a mapping"),
        ("web:\n  hosts:\n    web1: [a]\n", 3, 5, "variables of host 'web1' must be a mapping"),
        ("web:\n  hosts:\n    1234:\n", 3, 5, "must be a string"),
        ('web:\n  hosts:\n    "web1\\n":\n', 3, 5, "invalid host name 'web1\\n'"),
        ('web:\n  hosts:\n    "w;reboot":\n', 3, 5, "invalid host name"),
        ("web:\n  hosts:\n    w[1:x]:\n", 3, 5, "invalid host range"),
        ("web:\n  hosts:\n   web1: {\n", 4, 1, "YAML"),
        ("plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n", 1, 1, "inventory plugin"),
        ("web:\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n", 3, 13, "!vault"),
        ("web:\n  hosts:\n    web1:\n  vars:\n    x: 1\x00\n", 5, 9, "unacceptable character"),
    ],
)
def test_yaml_mistakes_point_at_their_key(
    tmp_path: Path, text: str, line: int, column: int, words: str
) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_inventory(path)
    assert words in caught.value.message
    assert caught.value.location is not None
    assert (caught.value.location.line, caught.value.location.column) == (line, column)


def test_a_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  vars:\n" + "".join(f"    {line}\n" for line in lines))
    with pytest.raises(SpecError, match="aliases included"):
        load_inventory(path)


def test_an_extensionless_yaml_file_with_a_syntax_error_reports_the_yaml_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hosts"
    path.write_text("all:\n  children:\n    web:\n  hosts: {\n")
    with pytest.raises(SpecError, match="YAML"):
        load_inventory(path)


def test_a_vaulted_vars_file_needs_the_ansible_reader(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[web]\nweb1\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6136\n")
    with pytest.raises(SpecError) as caught:
        load_inventory(tmp_path / "hosts.ini")
    assert "ansible-vault" in caught.value.message and "reader: ansible" in (
        caught.value.hint or ""
    )


def test_a_vars_file_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[web]\nweb1\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "web1.yml").write_text("- a\n- b\n")
    with pytest.raises(SpecError, match=r"web1\.yml must be a mapping of variables, not a list"):
        load_inventory(tmp_path / "hosts.ini")


def test_an_executable_inventory_needs_the_ansible_reader(tmp_path: Path) -> None:
    path = tmp_path / "inventory.py"
    path.write_text("#!/bin/sh\necho '{}'\n")
    path.chmod(0o755)
    with pytest.raises(SpecError) as caught:
        load_inventory(path)
    assert "dynamic inventory script" in caught.value.message
    assert "reader: ansible" in (caught.value.hint or "")


def test_a_file_of_an_inventory_directory_no_reader_takes_is_named(tmp_path: Path) -> None:
    (tmp_path / "01-web.ini").write_text("[web]\nweb1\n")
    (tmp_path / "README").write_text("These are our servers, keep them safe.\n")
    (tmp_path / "README.md").write_text("ignored, as by Ansible\n")
    with pytest.raises(SpecError) as caught:
        load_inventory(tmp_path)
    assert caught.value.location is not None
    assert caught.value.location.file == str(tmp_path / "README")


def test_a_missing_inventory_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_inventory(tmp_path / "nope")


def test_mutated_inventories_never_crash(tmp_path: Path) -> None:
    """Random damage to every corpus file: each outcome is a reading or a SpecError."""
    rng = random.Random(15)
    junk = ["[", "]", ":", "=", '"', "'", "#", "\n", "\t", "{", "}", "- ", "*a", "&a ", "\x00", "é"]
    files = [p for p in sorted(CORPUS.rglob("*")) if p.is_file()]
    for round_ in range(300):
        source = rng.choice(files)
        text = list(source.read_text(encoding="utf-8"))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text) + 1)
            if rng.random() < 0.5 and text:
                del text[min(at, len(text) - 1)]
            else:
                text.insert(at, rng.choice(junk))
        path = tmp_path / f"m{round_}{source.suffix}"
        path.write_text("".join(text), encoding="utf-8")
        try:
            load_inventory(path)
        except SpecError as exc:
            assert exc.location is None or exc.location.line >= 1


def test_a_trailing_newline_never_passes_as_part_of_a_host(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text('web:\n  hosts:\n    "web1:22\\n":\n')
    with pytest.raises(SpecError, match="invalid host name"):
        load_inventory(path)
