"""Roles without traffic as containers of a real Docker engine: the sample app's workers and its
singleton scheduler (``examples/app/worker.py``) run from the release's image after web, are
checked inside their own containers (``docker exec``), never two beats, and roll back with web
when their check fails."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.backends.placement import read_processes
from slipway.containers.engine import Engine as DockerEngine
from slipway.engine import Engine
from slipway.spec.targets import DockerTargetSpec
from slipway.targets.base import RoleProcess
from slipway.targets.docker import DockerTarget
from tests.containers.test_docker_target import images
from tests.containers.test_rollout import containers, docker_engine_for
from tests.support.dockerd import Dockerd

ROLES = """
roles:
  worker:
    command: [python3, worker.py, "{name}"]
    count: 2
    stop_timeout_s: 10
    check: {command: [python3, worker.py, "{name}", --check], interval_s: 0.2, within_s: 20}
  beat:
    command: [python3, worker.py, "{name}", --beat]
    singleton: true
    stop_timeout_s: 5
"""


def running(engine: Engine) -> dict[str, str]:
    return {p.name: p.version for p in read_processes(engine.backends) if p.running}


def test_workers_and_beat_roll_out_as_containers_after_web(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    with docker_engine_for(tmp_path, dockerd, count=2, extra=ROLES) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        assert running(engine) == {"worker-1_a": "v1", "worker-2_a": "v1", "beat-1_a": "v1"}
        second = engine.deploy("v2")
        assert second.exit_code == 0, second.deployment.reason
        assert running(engine) == {"worker-1_b": "v2", "worker-2_b": "v2", "beat-1_b": "v2"}
        assert containers(dockerd) == {
            "shop-test-web-1_b": "v2",
            "shop-test-web-2_b": "v2",
            "shop-test-worker-1_b": "v2",
            "shop-test-worker-2_b": "v2",
            "shop-test-beat-1_b": "v2",
        }
        steps = store.steps(second.deployment.id)
        kinds = [s.kind for s in steps]
        last_web = max(i for i, k in enumerate(kinds) if k == "enable_instance")
        assert last_web < kinds.index("start_process") < kinds.index("mark_current")
        checks = [s for s in steps if s.kind == "check_process"]
        assert {s.params["name"] for s in checks} == {"worker-1_b", "worker-2_b"}
        assert all("exit 0" in str(s.result.get("evidence")) for s in checks)
        # the old scheduler was gone before its successor started: never two beats
        stop_old = next(s for s in steps if s.kind == "stop_process" and "beat" in s.params["name"])
        start_new = next(
            s for s in steps if s.kind == "start_process" and s.params["name"] == "beat-1_b"
        )
        assert stop_old.seq < start_new.seq
        assert stop_old.ended_at is not None and start_new.started_at is not None
        assert stop_old.ended_at <= start_new.started_at


def test_workers_failing_their_check_in_their_container_roll_back_web_and_workers(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    with docker_engine_for(tmp_path, dockerd, count=2, extra=ROLES) as (engine, _store):
        assert engine.deploy("v1").exit_code == 0
        outcome = engine.deploy("workers_fail")  # web is healthy; its workers fail their check
        assert outcome.exit_code == 3
        assert outcome.deployment.status == "rolled_back"
        assert "check worker-" in (outcome.deployment.reason or "")
        assert running(engine) == {"worker-1_a": "v1", "worker-2_a": "v1", "beat-1_a": "v1"}
        assert set(containers(dockerd).values()) == {"v1"}


@pytest.fixture
def engine(dockerd: Dockerd) -> Iterator[DockerEngine]:
    client = DockerEngine(dockerd.host)
    try:
        yield client
    finally:
        client.close()


def test_a_check_runs_in_the_process_container_with_its_env_and_a_bounded_time(
    dockerd: Dockerd, engine: DockerEngine, tmp_path: Path
) -> None:
    v1 = images(tmp_path, engine).prepare("v1")
    spec = DockerTargetSpec(type="docker", docker_host=engine.host)
    docker = DockerTarget("docker", engine, app="shop", environment="t", spec=spec, volumes=[])
    process = RoleProcess(
        name="worker-1_a",
        role="worker",
        version="v1",
        release_dir=Path("/"),
        command=["python3", "worker.py", "worker-1_a"],
        stop_timeout_s=5,
        image=v1.image,
    )
    try:
        docker.start_process(process)
        docker.start_process(process)  # idempotent: the same container
        assert [(p.name, p.role, p.version, p.running) for p in docker.processes()] == [
            ("worker-1_a", "worker", "v1", True)
        ]
        assert docker.instances() == []  # a role's container is not a web slot
        secret = "s3cr3t 'quoted' $HOME"
        env = {"TOKEN": secret}
        argv = ["sh", "-c", 'test "$TOKEN" = "$1" && pwd', "sh", secret]
        done = docker.run_beside("worker-1_a", argv, directory=Path("/"), env=env, timeout_s=10)
        assert (done.exit_status, done.output) == (0, "/app")
        failed = docker.run_beside(
            "worker-1_a", ["false"], directory=Path("/"), env={}, timeout_s=10
        )
        assert failed.exit_status == 1
        started = time.monotonic()
        slow = docker.run_beside(
            "worker-1_a", ["sleep", "30"], directory=Path("/"), env={}, timeout_s=1
        )
        assert slow.exit_status is None and "timed out" in slow.output
        assert time.monotonic() - started < 10
        top = dockerd.cli("top", "shop-t-worker-1_a").stdout.decode()
        assert "sleep 30" not in top  # the overrunning check was killed, not left behind
        missing = docker.run_beside(
            "worker-9_a", ["true"], directory=Path("/"), env={}, timeout_s=5
        )
        assert missing.exit_status is None and "no container" in missing.output
        docker.stop_process("worker-1_a")
        docker.stop_process("worker-1_a")  # gone is done
        assert docker.processes() == []
    finally:
        docker.down()
