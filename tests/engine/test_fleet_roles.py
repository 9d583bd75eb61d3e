"""Roles without traffic on a fleet: each maps to an inventory group — workers on the web
hosts, the singleton scheduler on another group's host, which gets the release too."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from slipway.backends.placement import read_processes
from tests.engine.test_fleet import fleet_engine
from tests.engine.test_roles import events, most_at_once
from tests.support.hosts import TestFleet, write_fleet_spec

ROLES = """
roles:
  worker:
    command: [{python}, worker.py, "{{name}}"]
    hosts: web
    stop_timeout_s: 10
    env: {{ROLE_LOG: "{log}"}}
    check: {{command: [{python}, worker.py, "{{name}}", --check], interval_s: 0.2, within_s: 10}}
  beat:
    command: [{python}, worker.py, "{{name}}", --beat]
    singleton: true
    hosts: lb
    env: {{ROLE_LOG: "{log}"}}
"""


def test_roles_map_to_inventory_groups(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(3)
    web1, web2, lb = (h.name for h in fleet.hosts)
    spec = write_fleet_spec(tmp_path, fleet)
    # each host's /tmp is its own: every process logs there, and the logs are merged
    spec.write_text(spec.read_text() + ROLES.format(python=sys.executable, log="/tmp/roles.log"))
    merged = tmp_path / "roles.log"
    with fleet_engine(spec) as engine:
        assert engine.env.role_slots()["beat"] == [(f"beat-{lb}-1_a", f"beat-{lb}-1_b", lb)]
        for version, side in (("v1", "a"), ("v2", "b")):
            outcome = engine.deploy(version)
            assert outcome.exit_code == 0, outcome.deployment.reason
            running = {p.name: p.version for p in read_processes(engine.backends) if p.running}
            assert running == {
                f"worker-{web1}-1_{side}": version,
                f"worker-{web2}-1_{side}": version,
                f"beat-{lb}-1_{side}": version,
            }
        logs = [h.directory / "tmp" / "roles.log" for h in fleet.hosts]
        merged.write_text("".join(p.read_text() for p in logs if p.exists()))
        assert most_at_once(events(merged), "beat-") == 1
        # the scheduler's host got the release although web does not run there
        assert (fleet.host(lb).srv / "shop" / "releases" / "v2" / "worker.py").is_file()
