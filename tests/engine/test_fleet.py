"""Fleets over SSH: rolling deploys and rollbacks on real sshd hosts, HAProxy on an LB host."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from slipway.backends import Backends
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store
from slipway.targets.ssh import SshTarget
from tests.support.hosts import TestFleet, write_fleet_spec

FAST = "{type: rolling, batch_size: 100%, max_surge: 100%}"


@contextmanager
def fleet_engine(spec: Path, *, limit: str | None = None) -> Iterator[Engine]:
    env = load_spec(spec).environment("test", limit=limit)
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        yield Engine(env, store=store, backends=backends)
    finally:
        backends.close()
        store.close()


def serving(engine: Engine) -> dict[str, str]:
    return {p.slot: p.version for p in read_placement(engine.backends) if p.serving}


def uploads(engine: Engine) -> int:
    target = engine.backends.target
    assert isinstance(target, SshTarget)
    return target.sync.uploads


def current_on(fleet: TestFleet, host: str) -> str:
    return os.readlink(fleet.host(host).srv / "shop" / "current")


def test_rolling_deploy_to_five_hosts_under_load_loses_no_request(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(6)
    web = [h.name for h in fleet.hosts[:5]]
    spec = write_fleet_spec(tmp_path, fleet)
    lb = fleet.hosts[-1].address
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        assert uploads(engine) == 5
        assert serving(engine) == {f"{h}-1_a": "v1" for h in web}
        with TrafficGenerator(
            f"http://{lb}:8080/work",
            concurrency=4,
            max_requests=50_000,
            max_duration_s=90,
            test_hosts=[lb],
        ) as traffic:
            time.sleep(0.3)
            outcome = engine.deploy("v2")
            finished = time.monotonic()
            time.sleep(0.5)
        assert outcome.exit_code == 0, outcome.deployment.reason
        report = traffic.report
        assert report.requests > 100
        assert report.failed == 0, report.errors
        assert report.versions_after(finished) == {"v2"}
        assert serving(engine) == {f"{h}-1_b": "v2" for h in web}
        assert {i.version for i in engine.backends.target.instances()} == {"v2"}
    for host in web:
        assert current_on(fleet, host) == "releases/v2"
        releases = sorted(os.listdir(fleet.host(host).srv / "shop" / "releases"))
        assert releases == ["v1", "v2"]
    # the LB host runs HAProxy only; no release went there
    assert not (fleet.hosts[-1].srv / "shop" / "releases").exists()


def test_redeploy_of_the_same_digest_skips_the_upload(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(3)
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST)
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        assert uploads(engine) == 2
    release = fleet.host("h1").srv / "shop" / "releases" / "v1"
    before = release.stat().st_ino
    with fleet_engine(spec) as engine:  # a new run: it knows nothing of the hosts but them
        assert engine.deploy("v2").exit_code == 0
        assert uploads(engine) == 2
        assert engine.rollback("v1").exit_code == 0
        assert uploads(engine) == 2  # v1 was still on both hosts, with the same digest
        assert set(serving(engine).values()) == {"v1"}
    assert release.stat().st_ino == before
    assert current_on(fleet, "h1") == current_on(fleet, "h2") == "releases/v1"


def test_a_bad_release_is_rolled_back_on_every_host(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(4)
    spec = write_fleet_spec(tmp_path, fleet, strategy="{type: rolling, batch_size: 2}")
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        outcome = engine.deploy("v3")  # fails its health check everywhere
        assert outcome.exit_code == 3
        assert outcome.deployment.status == "rolled_back"
        assert "health" in (outcome.deployment.reason or "")
        assert serving(engine) == {"h1-1_a": "v1", "h2-1_a": "v1", "h3-1_a": "v1"}
        assert {i.version for i in engine.backends.target.instances()} == {"v1"}
        assert engine.deploy("v2").exit_code == 0
        back = engine.rollback()
        assert back.exit_code == 0, back.deployment.reason
        assert set(serving(engine).values()) == {"v1"} and len(serving(engine)) == 3
    for host in ("h1", "h2", "h3"):
        assert current_on(fleet, host) == "releases/v1"


def test_limit_deploys_to_the_hosts_it_selects_only(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(5)
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST)
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
    with fleet_engine(spec, limit="web:!h2:!h4") as engine:
        assert engine.env.slots() == [
            ("h1-1", "h1-1_a", 9100),
            ("h3-1", "h3-1_a", 9100),
            ("h1-1", "h1-1_b", 9101),
            ("h3-1", "h3-1_b", 9101),
        ]
        assert engine.deploy("v2").exit_code == 0
    with fleet_engine(spec) as engine:
        assert serving(engine) == {
            "h1-1_b": "v2",
            "h2-1_a": "v1",
            "h3-1_b": "v2",
            "h4-1_a": "v1",
        }
    assert not (fleet.host("h2").srv / "shop" / "releases" / "v2").exists()


def test_router_admin_socket_on_a_tcp_address_the_spec_names(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(3)
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST, admin_port=9999)
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        router = engine.backends.router
        assert "Name: HAProxy" in router.command("show info")  # type: ignore[attr-defined]
        assert serving(engine) == {"h1-1_a": "v1", "h2-1_a": "v1"}
    config = (fleet.hosts[-1].srv / "shop" / ".slipway" / "router" / "haproxy.cfg").read_text()
    assert f"stats socket ipv4@{fleet.hosts[-1].address}:9999 level admin" in config


def test_disk_check_reads_every_host_over_ssh(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    from slipway.preflight import run_checks

    fleet = make_hosts(3)
    spec = write_fleet_spec(tmp_path, fleet)
    spec.write_text(
        spec.read_text()
        + "checks:\n"
        + "  - {type: disk, name: room, path: /, min_free_percent: 1}\n"
        + "  - {type: disk, name: impossible, path: /, min_free_percent: 100}\n"
    )
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    try:
        verdict, _ = run_checks(env, store=store, clock=SystemClock(), purpose="check")
    finally:
        store.close()
    rows = {r.name: r for r in verdict.rows}
    web = [h.name for h in fleet.hosts[:2]]
    for host in web:
        assert rows[f"room on {host}"].status == "pass", rows[f"room on {host}"].evidence
        assert "%" in rows[f"room on {host}"].evidence
        assert rows[f"impossible on {host}"].status == "fail"
    assert not verdict.go
