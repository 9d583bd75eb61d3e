"""The command line on a fleet: --limit on plan, deploy and status; host keys always checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.test_cli import slipway
from tests.support.hosts import TestFleet, write_fleet_spec

FAST = "{type: rolling, batch_size: 100%, max_surge: 100%}"


def test_plan_deploy_and_status_take_limit(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(4)
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST)
    plan = slipway("plan", "-f", spec, "--version", "v1", "--limit", "h2,h3", "-o", "json")
    assert plan.returncode == 0, plan.stderr
    slots = {s["params"]["slot"] for s in json.loads(plan.stdout)["steps"] if "slot" in s["params"]}
    assert slots == {"h2-1_a", "h3-1_a"}
    deploy = slipway("deploy", "-f", spec, "--version", "v1", "-l", "web:!h1")
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    status = slipway("status", "-f", spec, "-o", "json")
    assert status.returncode == 0, status.stderr
    rows = {i["slot"]: i["version"] for i in json.loads(status.stdout)["instances"]}
    assert rows == {"h2-1_a": "v1", "h3-1_a": "v1"}
    said = slipway("status", "-f", spec)  # h1 has no release yet: the fleet is mixed
    assert "mixed: v1 current on 2 host(s): h2, h3" in said.stdout, said.stdout
    assert "mixed: none current on 1 host(s): h1" in said.stdout
    past = slipway("history", "-f", spec, "-o", "json")
    assert [d["hosts"] for d in json.loads(past.stdout)["deployments"]] == [["h2", "h3"]]
    # what one host went through: only the deployments that made a release current there
    for pattern, count in (("h1", 0), ("h3", 1), ("web:!h2", 1)):
        found = slipway("history", "-f", spec, "--host", pattern, "-o", "json")
        assert found.returncode == 0, found.stderr
        assert len(json.loads(found.stdout)["deployments"]) == count, pattern
    nowhere = slipway("history", "-f", spec, "--host", "db")
    assert nowhere.returncode == 2 and "'db' matches no host or group" in nowhere.stderr
    limited = slipway("status", "-f", spec, "-o", "json", "--limit", "h3")
    assert [i["slot"] for i in json.loads(limited.stdout)["instances"]] == ["h3-1_a"]
    wrong = slipway("plan", "-f", spec, "--version", "v1", "--limit", "db")
    assert wrong.returncode == 2
    assert "'db' matches no host or group" in wrong.stderr and "Traceback" not in wrong.stderr


def test_unknown_host_key_stops_the_deploy_before_anything_starts(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(3)
    stranger = fleet.host("h2")
    trusted = [h.known_hosts_line() for h in fleet.hosts if h is not stranger]
    fleet.known_hosts.write_text("\n".join(trusted) + "\n")
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST)
    result = slipway("deploy", "-f", spec, "--version", "v1")
    assert result.returncode == 4, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"host h2 ({stranger.address}:22)" in message
    assert stranger.fingerprint() in message
    assert "ssh-keyscan" in message and "Traceback" not in result.stderr
    assert not (fleet.host("h1").srv / "shop" / "releases").exists()


FLEET_SPEC = """\
app: shop
release: {build: "true"}
process: {command: [python3, server.py]}
environments:
  prod:
    router: {type: haproxy, listen: '127.0.0.1:80'}
    instances: {per_host: 1, base_port: 8000}
    targets:
      - type: ssh
        inventory: hosts
        select: web
        deploy_to: /srv/shop
"""


def test_validate_reads_the_inventory_without_connecting(tmp_path: Path) -> None:
    spec = tmp_path / "slipway.yaml"
    spec.write_text(FLEET_SPEC)
    # TEST-NET addresses: nothing answers there, so a validate that connected could not pass
    (tmp_path / "hosts").write_text(
        "[web]\nweb1 ansible_host=192.0.2.1\nweb2 ansible_host=192.0.2.2\n[db]\ndb1\n"
    )
    done = slipway("validate", "-f", spec, "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["fleets"] == {
        "prod": {"hosts": ["web1", "web2", "db1"], "app_hosts": ["web1", "web2"]}
    }
    (tmp_path / "hosts").write_text("[web]\nweb1\n[web:vars]\nx=1\n[db:vars]\ny=2\n")
    broken = slipway("validate", "-f", spec)
    assert broken.returncode == 2
    assert f"{tmp_path / 'hosts'}:5:1: section [db:vars] is for group 'db'" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_an_inventory_given_as_a_list_is_a_located_error(tmp_path: Path) -> None:
    spec = tmp_path / "slipway.yaml"
    spec.write_text(FLEET_SPEC.replace("inventory: hosts", "inventory: hosts.yml"))
    (tmp_path / "hosts.yml").write_text(
        "all:\n  children:\n    web:\n      hosts:\n        - web1\n"
    )
    done = slipway("plan", "-f", spec, "--version", "v1")
    assert done.returncode == 2
    assert "hosts.yml:4:7: 'hosts' of group 'web' must be a mapping" in done.stderr
    assert "Traceback" not in done.stderr and "AttributeError" not in done.stderr


def test_plan_offline_asks_no_host_and_plans_from_the_records(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(2)
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST)
    assert slipway("deploy", "-f", spec, "--version", "v1").returncode == 0
    live = json.loads(slipway("plan", "-f", spec, "-v", "v2", "-o", "json").stdout)
    assert "over SSH" in live["placement_from"]
    for host in fleet.hosts:  # every host cut off: only the store can answer now
        host.cut()
    offline = slipway("plan", "-f", spec, "-v", "v2", "--offline", "-o", "json", timeout=60)
    assert offline.returncode == 0, offline.stderr
    planned = json.loads(offline.stdout)
    assert planned["placement_from"] == "the store's records"
    assert [s["kind"] for s in planned["steps"]] == [s["kind"] for s in live["steps"]]

    def started(plan: dict[str, Any]) -> set[str]:
        return {s["params"]["slot"] for s in plan["steps"] if s["kind"] == "start_instance"}

    # beside v1, in the slots the live plan chose too: the records put v1 where it runs
    assert started(planned) == started(live) and all(s.endswith("_b") for s in started(live))
