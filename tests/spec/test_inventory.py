"""Ansible inventories, INI and YAML: hosts, groups, children, variables, ranges, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec.inventory import expand_range, load_inventory

INI = """\
# the fleet
lb1 ansible_host=198.18.0.9

[web]
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

YAML = """\
all:
  vars:
    env: production
  hosts:
    lb1:
      ansible_host: 198.18.0.9
  children:
    web:
      hosts:
        web[01:02]:
          ansible_user: deploy
        web03:
      vars:
        http_port: 8080
    db:
      hosts:
        db1:
"""


def test_ini_hosts_groups_children_and_variables(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    hosts, groups = load_inventory(path).resolved()
    assert list(hosts) == ["lb1", "web01", "web02", "web03", "web04", "db-a", "db-b"]
    assert groups["web"] == ["web01", "web02", "web03", "web04"]
    assert groups["prod"] == ["web01", "web02", "web03", "web04", "db-a", "db-b"]
    assert hosts["web04"]["ansible_port"] == 2222
    assert hosts["web04"]["role"] == "front end"
    assert hosts["web01"]["ansible_user"] == "deploy"
    assert hosts["web01"]["http_port"] == 8080
    # the child group's variables win over its parent's
    assert hosts["web01"]["tier"] == "web" and hosts["db-a"]["tier"] == "prod"
    assert hosts["lb1"] == {"ansible_host": "198.18.0.9"}


def test_yaml_inventory(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(YAML)
    hosts, groups = load_inventory(path).resolved()
    assert list(hosts) == ["lb1", "web01", "web02", "web03", "db1"]
    assert groups["web"] == ["web01", "web02", "web03"]
    assert set(groups["all"]) == set(hosts)
    assert hosts["web02"] == {"env": "production", "http_port": 8080, "ansible_user": "deploy"}
    assert hosts["lb1"]["env"] == "production"


def test_ranges() -> None:
    assert expand_range("web[8:10]") == ["web8", "web9", "web10"]
    assert expand_range("w[01:02]-[a:b]") == ["w01-a", "w01-b", "w02-a", "w02-b"]
    assert expand_range("plain") == ["plain"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[web\nweb1\n", 1, "invalid section"),
        ("[web]\nweb1 ansible_port\n", 2, "expected key=value"),
        ("[web]\nweb;1\n", 2, "invalid host name"),
        ("[web:vars]\nnot a pair\n", 2, "key=value"),
    ],
)
def test_ini_mistakes_point_at_their_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "hosts"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_inventory(path)
    assert caught.value.location is not None and caught.value.location.line == line
    assert words in str(caught.value)


def test_yaml_mistake_points_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text("all:\n  children:\n    web:\n      hostz:\n        web1:\n")
    with pytest.raises(SpecError) as caught:
        load_inventory(path)
    assert "unknown key 'hostz'" in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 4


@pytest.mark.parametrize(
    "text",
    [
        'all:\n  hosts:\n    "web1\\n":\n',  # once accepted, and it split a `server` line in two
        'all:\n  children:\n    "web\\n":\n      hosts:\n        web1:\n',
    ],
)
def test_a_trailing_newline_is_no_part_of_a_name(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with pytest.raises(SpecError, match=r"invalid (host|group) name"):
        load_inventory(path)
