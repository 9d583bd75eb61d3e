"""A fleet whose hosts run containers (``type: ssh, runtime: docker``), on real test hosts each
with its own dockerd, over real sshd, behind HAProxy on an LB host: images built here reach
the hosts without a registry (``docker save`` streamed into each host's ``docker load`` over
SSH), once per host, and every strategy runs unchanged."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from slipway.backends import Backends
from slipway.backends.fleet_images import FleetImages
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store
from tests.support.dockerd import Dockerd
from tests.support.host_docker import (
    containers_on,
    image_loads,
    start_host_dockerd,
    write_docker_fleet_spec,
)
from tests.support.hosts import TestFleet

pytestmark = pytest.mark.timeout(600)
FAST = "{type: rolling, batch_size: 100%, max_surge: 100%}"


@pytest.fixture
def docker_fleet(
    make_hosts: Callable[..., TestFleet], docker_engine: Dockerd, monkeypatch: pytest.MonkeyPatch
) -> TestFleet:
    """Three test hosts: h1 and h2 with their own dockerd (web), h3 the LB; releases are
    built on the test session's engine (``DOCKER_HOST``)."""
    fleet = make_hosts(3)
    for host in fleet.hosts[:2]:
        start_host_dockerd(host)
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    return fleet


@contextmanager
def fleet_engine(spec: Path) -> Iterator[Engine]:
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        yield Engine(env, store=store, backends=backends)
    finally:
        backends.close()
        store.close()


def serving(engine: Engine) -> dict[str, str]:
    return {p.slot: p.version for p in read_placement(engine.backends) if p.serving}


def loaded(engine: Engine) -> list[tuple[str, str]]:
    releases = engine.backends.releases
    assert isinstance(releases, FleetImages)
    return sorted(releases.loaded)


def test_rolling_deploy_of_images_to_two_hosts_under_load_loses_no_request(
    docker_fleet: TestFleet, tmp_path: Path
) -> None:
    h1, h2, lb = docker_fleet.hosts
    spec = write_docker_fleet_spec(tmp_path, docker_fleet)
    began = time.time()
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        assert loaded(engine) == [("h1", "v1"), ("h2", "v1")]
        assert serving(engine) == {"h1-1_a": "v1", "h2-1_a": "v1"}
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
        assert serving(engine) == {"h1-1_b": "v2", "h2-1_b": "v2"}
    # the live placement is each host's Docker: named, labelled containers on the right host
    assert containers_on(h1) == {"shop-test-h1-1_b": "v2"}
    assert containers_on(h2) == {"shop-test-h2-1_b": "v2"}
    # each image went to each host once, by `docker load` (no registry anywhere)
    assert image_loads(h1, began) == 2 and image_loads(h2, began) == 2


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
