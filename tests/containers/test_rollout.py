"""Every strategy, unchanged, against containers: a real Docker engine, HAProxy and the sample
app's images, under traffic — rolling with no failed request, a release failing its health
check rolled back (exit 3), a 5xx canary aborted by analysis, a blue-green switch back."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store
from tests.conftest import stop_environment
from tests.engine.test_progressive import BLUE_GREEN, CANARY, in_background, wait_for_step
from tests.engine.test_rollout import serving_versions
from tests.support.dockerd import Dockerd
from tests.support.sample_docker import write_docker_spec
from tests.support.verdicts import aborted_by_error_rate

SLIPWAY = [sys.executable, "-m", "slipway"]


@contextmanager
def docker_engine_for(
    tmp_path: Path, dockerd: Dockerd, **spec: Any
) -> Iterator[tuple[Engine, Store]]:
    path = write_docker_spec(tmp_path, docker_host=dockerd.host, **spec)
    env = load_spec(path).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        yield Engine(env, store=store, backends=backends), store
    finally:
        store.close()
        backends.close()
        stop_environment(env)


def url(engine: Engine) -> str:
    return f"http://127.0.0.1:{engine.env.router.listen.port}/work"


def containers(dockerd: Dockerd) -> dict[str, str]:
    """name → version label of every container the engine has."""
    out = dockerd.cli("ps", "-a", "--format", '{{.Names}} {{.Label "slipway.version"}}')
    return dict(line.split(" ", 1) for line in out.stdout.decode().splitlines())


def test_rolling_v1_to_v2_of_3_containers_loses_no_request(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    with docker_engine_for(tmp_path, dockerd) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with TrafficGenerator(url(engine), concurrency=4, max_duration_s=90) as traffic:
            time.sleep(0.3)
            outcome = engine.deploy("v2")
            finished = time.monotonic()
            time.sleep(0.5)
        report = traffic.report
        assert outcome.exit_code == 0, outcome.deployment.reason
        assert report.requests > 200
        assert report.failed == 0, report.errors
        assert report.versions_after(finished) == {"v2"}
        assert sorted(serving_versions(engine).values()) == ["v2", "v2", "v2"]
        # what runs is what Docker says runs: one container per slot, the old ones gone
        assert containers(dockerd) == {
            "shop-test-web-1_b": "v2",
            "shop-test-web-2_b": "v2",
            "shop-test-web-3_b": "v2",
        }
        current = store.current("shop", "test")
        image = engine.backends.releases.prepare("v2").image
        assert current is not None and current.release_digest == image


def test_an_image_failing_its_health_check_is_rolled_back_exit_3(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    spec = write_docker_spec(tmp_path, docker_host=dockerd.host)
    try:
        run = [*SLIPWAY, "deploy", "-f", str(spec), "--version"]
        first = subprocess.run([*run, "v1"], capture_output=True, text=True, timeout=180)
        assert first.returncode == 0, first.stdout + first.stderr
        port = load_spec(spec).environment("test").router.listen.port
        with TrafficGenerator(f"http://127.0.0.1:{port}/work", concurrency=2) as traffic:
            bad = subprocess.run([*run, "v3"], capture_output=True, text=True, timeout=180)
        assert bad.returncode == 3, bad.stdout + bad.stderr
        assert "health" in bad.stdout + bad.stderr
        assert traffic.report.failed == 0, traffic.report.errors
        assert sorted(containers(dockerd).values()) == ["v1", "v1", "v1"]
    finally:
        stop_environment(load_spec(spec).environment("test"))


def test_a_canary_answering_5xx_is_aborted_by_analysis(dockerd: Dockerd, tmp_path: Path) -> None:
    with docker_engine_for(tmp_path, dockerd, strategy=CANARY) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with TrafficGenerator(url(engine), concurrency=4, max_duration_s=90) as traffic:
            outcome = engine.deploy("errors_20pct")
            done = time.monotonic()
            time.sleep(0.3)
        aborted_by_error_rate(outcome, store)  # at the first step's weight
        report = traffic.report
        assert 0 < report.failed < report.requests * 0.1  # only the canary's share
        assert report.failed_between(done, float("inf")) == 0
        assert report.versions_after(done) == {"v1"}
        assert sorted(containers(dockerd).values()) == ["v1", "v1", "v1"]


def test_blue_green_switches_back_to_the_containers_on_standby(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    with docker_engine_for(tmp_path, dockerd, strategy=BLUE_GREEN) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with TrafficGenerator(url(engine), concurrency=4, max_duration_s=90) as traffic:
            thread, result = in_background(engine, "v2")
            dep_id = wait_for_step(store, engine, "hold")
            time.sleep(0.5)
            assert set(serving_versions(engine).values()) == {"v2"}
            assert sorted(containers(dockerd).values()) == ["v1"] * 3 + ["v2"] * 3
            v1_ids = dockerd.cli("ps", "-q", "--filter", "label=slipway.version=v1").stdout
            rollback = Engine(engine.env, store=store, backends=engine.backends).rollback()
            back = time.monotonic()
            thread.join(timeout=60)
            time.sleep(0.5)
        assert rollback.exit_code == 0, rollback.deployment.reason
        assert rollback.deployment.id == dep_id and result[0].exit_code == 3
        assert traffic.report.failed == 0, traffic.report.errors
        assert traffic.report.versions_after(back) == {"v1"}
        # a switch, not a restart: the very containers that were on standby serve again
        assert dockerd.cli("ps", "-q", "--filter", "label=slipway.version=v1").stdout == v1_ids
        assert sorted(containers(dockerd).values()) == ["v1", "v1", "v1"]
        rollback_steps = {s.kind for s in store.steps(dep_id) if s.phase == "rollback"}
        assert "start_instance" not in rollback_steps
