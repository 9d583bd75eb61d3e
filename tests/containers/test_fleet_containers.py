"""A fleet whose hosts run containers (``type: ssh, runtime: docker``), on real test hosts each
with its own dockerd, over real sshd, behind HAProxy on an LB host: images built here reach
the hosts without a registry (``docker save`` streamed into each host's ``docker load`` over
SSH), once per host, and every strategy runs unchanged."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from slipway import reports
from slipway.backends.fleet_images import FleetImages
from slipway.backends.placement import read_placement, read_processes
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from tests.cli.test_cli import slipway
from tests.engine.test_crash import kill_when_step_starts
from tests.engine.test_fleet_failures import CutOff, fleet_engine
from tests.engine.test_fleet_progressive import CANARY
from tests.support.dockerd import Dockerd
from tests.support.host_docker import (
    containers_on,
    image_loads,
    start_host_dockerd,
    write_docker_fleet_spec,
)
from tests.support.hosts import TestFleet
from tests.support.verdicts import aborted_by_error_rate

pytestmark = pytest.mark.timeout(600)
FAST = "{type: rolling, batch_size: 100%, max_surge: 100%}"


@pytest.fixture
def make_docker_fleet(
    make_hosts: Callable[..., TestFleet], docker_engine: Dockerd, monkeypatch: pytest.MonkeyPatch
) -> Callable[[int], TestFleet]:
    """``make_docker_fleet(n)``: n test hosts with their own dockerd (web: h1 … hn) and one
    more, the LB; releases are built on the test session's engine (``DOCKER_HOST``)."""
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)

    def make(web: int) -> TestFleet:
        fleet = make_hosts(web + 1)
        for host in fleet.hosts[:web]:
            start_host_dockerd(host)
        return fleet

    return make


@pytest.fixture
def docker_fleet(make_docker_fleet: Callable[[int], TestFleet]) -> TestFleet:
    """h1 and h2 with their own dockerd (web), h3 the LB."""
    return make_docker_fleet(2)


def serving(engine: Engine) -> dict[str, str]:
    return {p.slot: p.version for p in read_placement(engine.backends) if p.serving}


def loaded(engine: Engine) -> list[tuple[str, str]]:
    releases = engine.backends.releases
    assert isinstance(releases, FleetImages)
    return sorted(releases.loaded)


def test_rolling_deploy_of_images_to_three_hosts_under_load_loses_no_request(
    make_docker_fleet: Callable[[int], TestFleet], tmp_path: Path
) -> None:
    fleet = make_docker_fleet(3)
    h1, h2, h3, lb = fleet.hosts
    spec = write_docker_fleet_spec(tmp_path, fleet)
    began = time.time()
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        assert loaded(engine) == [("h1", "v1"), ("h2", "v1"), ("h3", "v1")]
        assert serving(engine) == {"h1-1_a": "v1", "h2-1_a": "v1", "h3-1_a": "v1"}
        with TrafficGenerator(
            f"http://{lb.address}:8080/work",
            concurrency=4,
            max_requests=50_000,
            max_duration_s=120,
            test_hosts=[lb.address],
        ) as traffic:
            time.sleep(0.3)
            outcome = engine.deploy("v2")
            finished = time.monotonic()
            time.sleep(0.5)
        assert outcome.exit_code == 0, outcome.deployment.reason
        report = traffic.report
        assert report.requests > 50
        assert report.failed == 0, report.errors
        assert report.versions_after(finished) == {"v2"}
        assert serving(engine) == {"h1-1_b": "v2", "h2-1_b": "v2", "h3-1_b": "v2"}
    # the live placement is each host's Docker: named, labelled containers on the right host
    assert containers_on(h1) == {"shop-test-h1-1_b": "v2"}
    assert containers_on(h2) == {"shop-test-h2-1_b": "v2"}
    assert containers_on(h3) == {"shop-test-h3-1_b": "v2"}
    # each image went to each host once, by `docker load` (no registry anywhere)
    assert [image_loads(h, began) for h in (h1, h2, h3)] == [2, 2, 2]


def test_rollback_to_an_image_the_hosts_have_sends_nothing(
    docker_fleet: TestFleet, tmp_path: Path
) -> None:
    h1, h2, _ = docker_fleet.hosts
    spec = write_docker_fleet_spec(tmp_path, docker_fleet, strategy=FAST)
    with fleet_engine(spec) as engine:
        assert engine.deploy("v1").exit_code == 0
        assert engine.deploy("v2").exit_code == 0
    began = time.time()
    with fleet_engine(spec) as engine:  # a new runner: it knows nothing of what it sent
        back = engine.rollback()
        assert back.exit_code == 0, back.deployment.reason
        assert loaded(engine) == []  # both hosts had v1's image ID: skipped
        assert set(serving(engine).values()) == {"v1"}
    assert image_loads(h1, began) == 0 and image_loads(h2, began) == 0
    # the command line reads the same placement from the hosts' engines
    status = slipway("status", "-f", spec, "-o", "json")
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)["instances"]
    serving_now = {i["slot"]: i["version"] for i in rows if i["serving"]}
    assert serving_now == {"h1-1_a": "v1", "h2-1_a": "v1"}
    assert {i["process"] for i in rows if i["serving"]} == {"RUNNING"}
    again = slipway("deploy", "-f", spec, "--version", "v2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Traceback" not in again.stderr
    assert containers_on(h1) == {"shop-test-h1-1_b": "v2"}  # the standby v1 was replaced


def test_a_release_failing_its_health_check_rolls_back_on_every_host(
    docker_fleet: TestFleet, tmp_path: Path
) -> None:
    h1, h2, _ = docker_fleet.hosts
    spec = write_docker_fleet_spec(tmp_path, docker_fleet)
    with fleet_engine(spec) as engine:
        assert engine.deploy("v1").exit_code == 0
        bad = engine.deploy("v3")
        assert bad.exit_code != 0
        assert bad.deployment.status == "rolled_back", bad.deployment.reason
        assert serving(engine) == {"h1-1_a": "v1", "h2-1_a": "v1"}
    assert set(containers_on(h1).values()) | set(containers_on(h2).values()) == {"v1"}


ROLES = """
roles:
  worker:
    command: [python3, worker.py, "{name}"]
    hosts: workers
    stop_timeout_s: 10
    check: {command: [python3, worker.py, "{name}", --check], interval_s: 0.2, within_s: 20}
"""


def test_blue_green_web_and_workers_on_their_own_host_as_containers(
    make_docker_fleet: Callable[[int], TestFleet], tmp_path: Path
) -> None:
    """Web on h1 and h2, a worker on h3 (group workers; it gets the image too), HAProxy on
    h4; blue-green switches web, then the worker follows, checked in its container there."""
    fleet = make_docker_fleet(3)
    h1, h2, h3, _ = fleet.hosts
    spec = write_docker_fleet_spec(
        tmp_path, fleet, strategy="{type: blue-green}", workers=1, extra=ROLES.lstrip()
    )
    with fleet_engine(spec) as engine:
        for version, side in (("v1", "a"), ("v2", "b")):
            outcome = engine.deploy(version)
            assert outcome.exit_code == 0, outcome.deployment.reason
            assert set(serving(engine).values()) == {version}
            running = {p.name: p.version for p in read_processes(engine.backends) if p.running}
            assert running == {f"worker-h3-1_{side}": version}
        checks = [s for s in engine.store.steps(outcome.deployment.id) if s.kind == "check_process"]
        assert checks and all("exit 0" in str(s.result.get("evidence")) for s in checks)
        assert ("h3", "v2") in loaded(engine)
    assert containers_on(h3) == {"shop-test-worker-h3-1_b": "v2"}
    assert set(containers_on(h1).values()) == set(containers_on(h2).values()) == {"v2"}


def test_with_continue_a_host_cut_off_mid_rollout_is_left_out_and_named(
    docker_fleet: TestFleet, tmp_path: Path
) -> None:
    _, h2, _ = docker_fleet.hosts
    spec = write_docker_fleet_spec(tmp_path, docker_fleet, strategy=FAST)
    with fleet_engine(spec) as engine:
        assert engine.deploy("v1").exit_code == 0
    policy = "        on_host_failure: continue\n        max_fail_percentage: 50\n"
    text = spec.read_text().replace("        hosts:\n", policy + "        hosts:\n", 1)
    spec.write_text(text.replace("command_timeout_s: 20", "command_timeout_s: 4"))
    cut = CutOff(docker_fleet, "h2", "start v2 in h2-1_b (port 9101)")
    with fleet_engine(spec, cut) as engine:
        outcome = engine.deploy("v2")
        assert cut.done
        assert outcome.deployment.status == "succeeded", outcome.deployment.reason
        assert outcome.failed_hosts == ("h2",) and outcome.exit_code == 5
        assert serving(engine) == {"h1-1_b": "v2"}
        log = reports.logs(engine.env, store=engine.store, deployment=outcome.deployment.id)
    assert log["hosts"]["h2"].startswith("FAILED")
    assert log["hosts"]["h1"] == "runs v2"
    h2.reconnect()
    assert containers_on(h2) == {"shop-test-h2-1_a": "v1"}  # untouched while cut off


# 0 prepare (the image on its way to the hosts), 1 infra, then h1's start / health / …
@pytest.mark.parametrize("seq", [0, 3], ids=["sending-the-image", "health-check"])
def test_runner_killed_mid_rollout_then_resume_on_the_hosts(
    docker_fleet: TestFleet, tmp_path: Path, seq: int
) -> None:
    h1, h2, _ = docker_fleet.hosts
    spec = write_docker_fleet_spec(tmp_path, docker_fleet)
    first = slipway("deploy", "-f", spec, "--version", "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    dep_id = kill_when_step_starts(spec, "v2", seq)
    status = json.loads(slipway("status", "-f", spec, "-o", "json").stdout)
    assert status["interrupted"]["deployment"] == dep_id
    resumed = slipway("resume", "-f", spec)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with fleet_engine(spec) as engine:
        assert serving(engine) == {"h1-1_b": "v2", "h2-1_b": "v2"}
        current = engine.store.current("shop", "test")
        assert current is not None and current.version == "v2"
        assert engine.store.lock("shop", "test") is None
    assert containers_on(h1) == {"shop-test-h1-1_b": "v2"}
    assert containers_on(h2) == {"shop-test-h2-1_b": "v2"}
    assert not list((tmp_path / "state").rglob(".save-*"))  # no archive left behind


def test_a_5xx_canary_of_containers_is_aborted_by_analysis_of_the_lbs_log(
    docker_fleet: TestFleet, tmp_path: Path
) -> None:
    lb = docker_fleet.hosts[-1]
    spec = write_docker_fleet_spec(tmp_path, docker_fleet, strategy=CANARY)
    with fleet_engine(spec) as engine:
        assert engine.deploy("v1").exit_code == 0
        with TrafficGenerator(
            f"http://{lb.address}:8080/work",
            concurrency=4,
            max_duration_s=120,
            test_hosts=[lb.address],
        ) as traffic:
            outcome = engine.deploy("errors_20pct")
            done = time.monotonic()
            time.sleep(0.3)
        aborted_by_error_rate(outcome, engine.store)  # at the first step's weight
        assert traffic.report.failed_between(done, float("inf")) == 0
        assert traffic.report.versions_after(done) == {"v1"}
        assert set(serving(engine).values()) == {"v1"}
