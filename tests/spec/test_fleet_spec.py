"""Fleet specs: hosts listed or from an inventory, slots per host, unsafe values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError, UsageError
from slipway.spec import load_spec

SPEC = """\
app: shop
release: {{build: "true"}}
process: {{command: [python3, server.py]}}
environments:
  prod:
    router: {{type: haproxy, host: {lb}, listen: "198.18.0.9:80"}}
    instances: {{per_host: 2, base_port: 8000}}
    targets:
      - type: ssh
        inventory: hosts.ini
        select: {select}
        deploy_to: {deploy_to}
        known_hosts: known_hosts
        hosts:
          web04: {{address: 198.18.0.14, groups: [web]}}
"""


def write(
    tmp_path: Path, *, lb: str = "lb1", select: str = "web", deploy_to: str = "/srv/shop"
) -> Path:
    (tmp_path / "hosts.ini").write_text(
        "[web]\nweb01 ansible_host=198.18.0.11 ansible_user=deploy http_port=80\n"
        "web02 ansible_host=198.18.0.12\nweb03 ansible_host=198.18.0.13 ansible_port=2222\n"
        "[lb]\nlb1 ansible_host=198.18.0.9\n"
    )
    path = tmp_path / "slipway.yaml"
    path.write_text(SPEC.format(lb=lb, select=select, deploy_to=deploy_to))
    return path


def test_inventory_and_spec_hosts_make_one_fleet(tmp_path: Path) -> None:
    env = load_spec(write(tmp_path)).environment("prod")
    assert env.fleet is not None
    fleet = env.fleet
    assert fleet.app_hosts == ["web01", "web02", "web03", "web04"]
    assert fleet.hosts["web01"].user == "deploy" and fleet.hosts["web02"].user == "root"
    assert fleet.hosts["web03"].port == 2222
    assert fleet.hosts["web01"].vars == {"http_port": 80}
    assert fleet.hosts["web04"].groups == ["web"]
    assert fleet.known_hosts == tmp_path / "known_hosts"
    slots = env.slots()
    assert len(slots) == 16  # 4 hosts x 2 instances x 2 slots
    assert slots[:2] == [("web01-1", "web01-1_a", 8000), ("web01-2", "web01-2_a", 8001)]
    assert ("web04-2", "web04-2_b", 8003) in slots
    assert env.slot_hosts()["web03-2_b"] == "web03"


def test_limit_narrows_the_slots_but_not_the_router(tmp_path: Path) -> None:
    env = load_spec(write(tmp_path)).environment("prod", limit="web[0:1]")
    assert env.fleet is not None and env.fleet.app_hosts == ["web01", "web02"]
    assert {s[0].split("-")[0] for s in env.slots()} == {"web01", "web02"}
    assert len(env.all_slots()) == 16
    with pytest.raises(UsageError, match="selects none of the hosts the app runs on"):
        load_spec(write(tmp_path)).environment("prod", limit="lb")


def test_a_path_with_shell_metacharacters_is_refused_where_it_is(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, deploy_to="'/srv/shop; rm -rf /'"))
    assert caught.value.location is not None and caught.value.location.line == 12
    assert "deploy_to" in str(caught.value)


def test_router_host_must_be_a_fleet_host(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, lb="lb9")).environment("prod")
    assert "router host 'lb9'" in str(caught.value)
    assert caught.value.location is not None and caught.value.location.line == 6


def test_select_matching_nothing_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="'db' matches no host or group"):
        load_spec(write(tmp_path, select="db")).environment("prod")


def test_per_host_needs_an_ssh_target(tmp_path: Path) -> None:
    path = tmp_path / "slipway.yaml"
    path.write_text(
        'app: shop\nrelease: {build: "true"}\nprocess: {command: [x]}\n'
        "environments:\n  prod:\n    router: {type: haproxy, listen: '127.0.0.1:80'}\n"
        "    instances: {per_host: 2, base_port: 8000}\n"
    )
    with pytest.raises(SpecError, match="per_host` needs an ssh target"):
        load_spec(path)


def inventory_spec(tmp_path: Path, inventory: str, *, select: str = "all") -> Path:
    path = tmp_path / "slipway.yaml"
    path.write_text(
        'app: shop\nrelease: {build: "true"}\nprocess: {command: [python3, server.py]}\n'
        "environments:\n  prod:\n    router: {type: haproxy, listen: '127.0.0.1:80'}\n"
        "    instances: {per_host: 1, base_port: 8000}\n    targets:\n      - type: ssh\n"
        f"        inventory: {inventory}\n        select: '{select}'\n"
        "        deploy_to: /srv/shop\n        known_hosts: known_hosts\n"
    )
    return path


def test_a_quoted_user_in_group_vars_is_the_user(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text('[web]\nweb1\n\n[web:vars]\nansible_user="deploy"\n')
    env = load_spec(inventory_spec(tmp_path, "hosts")).environment("prod")
    assert env.fleet is not None and env.fleet.hosts["web1"].user == "deploy"


@pytest.mark.parametrize(
    ("line", "words", "hint"),
    [
        ('ansible_user="Deploy User"', "ansible_user 'Deploy User' is not valid", "user name"),
        ("ansible_ssh_user=x;reboot", "ansible_ssh_user 'x;reboot' is not valid", "user name"),
        ("ansible_port=http", "ansible_port 'http' is not valid", "1 to 65535"),
        ("ansible_ssh_port=70000", "ansible_ssh_port 70000 is not valid", "1 to 65535"),
        ("ansible_host='1.2.3.4; rm -rf /'", "ansible_host '1.2.3.4; rm -rf /'", "IP address"),
    ],
)
def test_a_bad_connection_variable_is_named_plainly(
    tmp_path: Path, line: str, words: str, hint: str
) -> None:
    (tmp_path / "hosts").write_text(f"[web]\nweb1\n\n[web:vars]\n{line}\n")
    with pytest.raises(SpecError) as caught:
        load_spec(inventory_spec(tmp_path, "hosts")).environment("prod")
    assert words in caught.value.message and "host web1" in caught.value.message
    assert "pydantic" not in str(caught.value)
    assert hint in (caught.value.hint or "")
    assert caught.value.location is not None and caught.value.location.line == 10


def test_an_inventory_directory_with_group_vars(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "web.ini").write_text("[web]\nweb1 ansible_host=198.18.0.11\n")
    (inventory / "group_vars" / "all.yml").write_text("ansible_user: deploy\nansible_port: 2222\n")
    env = load_spec(inventory_spec(tmp_path, "inventory")).environment("prod")
    assert env.fleet is not None
    host = env.fleet.hosts["web1"]
    assert (host.address, host.port, host.user) == ("198.18.0.11", 2222, "deploy")


def test_a_local_connection_is_refused_where_the_app_runs(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text(
        "localhost ansible_connection=local\n[web]\nweb1 ansible_host=198.18.0.11\n"
    )
    with pytest.raises(SpecError, match="ansible_connection='local'"):
        load_spec(inventory_spec(tmp_path, "hosts")).environment("prod")
    env = load_spec(inventory_spec(tmp_path, "hosts", select="all:!ungrouped")).environment("prod")
    assert env.fleet is not None and env.fleet.app_hosts == ["web1"]


def test_select_of_an_empty_group_is_a_spec_error(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("[web]\nweb1\n[db]\n")
    with pytest.raises(SpecError, match="select 'db' selects no host"):
        load_spec(inventory_spec(tmp_path, "hosts", select="db")).environment("prod")
