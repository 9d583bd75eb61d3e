"""The command line on a fleet: --limit on plan, deploy and status; host keys always checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
