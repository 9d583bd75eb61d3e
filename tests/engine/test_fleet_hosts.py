"""The release current on each host: ``--limit`` deployments leave a fleet on several releases,
and status, history, the runbook and the next deployment's rollback say and use each host's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from slipway import reports
from slipway.runbook.facts import gather
from slipway.runbook.render import render
from tests.engine.test_fleet import FAST, current_on, fleet_engine, serving
from tests.support.hosts import TestFleet, write_fleet_spec


def test_limit_deploys_leave_each_host_its_own_current_release(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(5)  # h1..h4 run the app, h5 runs HAProxy
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST)
    with fleet_engine(spec) as engine:
        assert engine.deploy("v1").exit_code == 0
    with fleet_engine(spec, limit="h1,h3") as engine:
        outcome = engine.deploy("v2")
        assert outcome.exit_code == 0, outcome.deployment.reason
        assert outcome.deployment.previous_version == "v1"
    with fleet_engine(spec) as engine:
        report = reports.status(engine.env, store=engine.store, backends=engine.backends)
        current = report["current"]
        assert current["mixed"] is True
        assert current["versions"] == {"v1": ["h2", "h4"], "v2": ["h1", "h3"]}
        assert {h: r["version"] for h, r in current["hosts"].items()} == {
            "h1": "v2",
            "h2": "v1",
            "h3": "v2",
            "h4": "v1",
        }
        assert report["problems"] == []  # h2 and h4 serving v1 is what the store says
        rows = reports.history(engine.env, store=engine.store, limit=5)
        assert [(d["version"], d["hosts"]) for d in rows] == [
            ("v2", ["h1", "h3"]),
            ("v1", ["h1", "h2", "h3", "h4"]),
        ]
        runbook = render(gather(engine.env, engine.store))
        assert "v1 (h2, h4); v2 (h1, h3)" in runbook
    # a rejected release on h2 and h4 goes back to what *they* ran (v1), never to v2
    with fleet_engine(spec, limit="h2,h4") as engine:
        rejected = engine.deploy("v3")  # fails its health check
        assert rejected.exit_code == 3
        assert rejected.deployment.previous_version == "v1"
    with fleet_engine(spec) as engine:
        assert serving(engine) == {
            "h1-1_b": "v2",
            "h2-1_a": "v1",
            "h3-1_b": "v2",
            "h4-1_a": "v1",
        }
    assert not (fleet.host("h2").srv / "shop" / "releases" / "v2").exists()
    # `slipway rollback --limit h1,h3`: back to the release h1 and h3 ran before theirs
    with fleet_engine(spec, limit="h1,h3") as engine:
        back = engine.rollback()
        assert back.exit_code == 0, back.deployment.reason
        assert back.deployment.version == "v1"
    with fleet_engine(spec) as engine:
        report = reports.status(engine.env, store=engine.store, backends=engine.backends)
        assert report["current"]["mixed"] is False
        assert report["current"]["version"] == "v1"
        assert report["problems"] == []
    assert {current_on(fleet, h) for h in ("h1", "h2", "h3", "h4")} == {"releases/v1"}


def test_a_host_serving_another_release_than_its_record_is_named(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(3)
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST)
    with fleet_engine(spec) as engine:
        assert engine.deploy("v1").exit_code == 0
    with fleet_engine(spec, limit="h2") as engine:
        assert engine.deploy("v2").exit_code == 0
    with fleet_engine(spec) as engine:  # h1's record says v2 now, as if a deployment lied
        dep = engine.store.deployments("shop", "test", limit=1)[0]
        engine.store.set_current(
            "shop", "test", version="v2", digest=None, deployment_id=dep.id, hosts=["h1"]
        )
        report = reports.status(engine.env, store=engine.store, backends=engine.backends)
        assert report["problems"] == ["serving v1 on h1 although the current release there is v2"]
