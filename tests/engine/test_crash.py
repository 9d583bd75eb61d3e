"""Crash safety: SIGKILL the runner mid-rollout; status tells the truth, resume ends consistent —
on both stores (SQLite in the state directory, and the team's PostgreSQL through
``$SLIPWAY_STORE_URL``, which the runners started here inherit)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slipway.backends import Backends
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.database.store_url import open_store
from slipway.spec import load_spec
from tests.conftest import stop_environment, write_spec
from tests.support.sample import write_sample_spec

SLIPWAY = [sys.executable, "-m", "slipway"]


@pytest.fixture(autouse=True, params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test of this module on both stores."""
    if request.param == "postgresql":
        monkeypatch.setenv("SLIPWAY_STORE_URL", request.getfixturevalue("store_url"))
    else:
        monkeypatch.delenv("SLIPWAY_STORE_URL", raising=False)
    return str(request.param)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SLIPWAY, *map(str, args)], capture_output=True, text=True, timeout=120)


def kill_when_step_starts(spec: Path, version: str, seq: int) -> str:
    """Start a deploy, SIGKILL it as soon as step ``seq`` is marked running; return its id."""
    runner = subprocess.Popen(
        [*SLIPWAY, "deploy", "-f", str(spec), "--version", version],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = open_store(load_spec(spec).environment("test"))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and runner.poll() is None:
            deployments = store.deployments("shop", "test", limit=1)
            if deployments and deployments[0].version == version:
                steps = store.steps(deployments[0].id)
                if len(steps) > seq and steps[seq].state != "pending":
                    os.kill(runner.pid, signal.SIGKILL)
                    runner.wait()
                    return deployments[0].id
            time.sleep(0.01)
        raise AssertionError(f"step {seq} never started (runner exit {runner.poll()})")
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        store.close()


def assert_consistent(spec: Path, version: str) -> None:
    env = load_spec(spec).environment("test")
    backends = Backends.for_environment(env, clock=SystemClock())
    placement = read_placement(backends)
    serving = [p for p in placement if p.serving]
    assert {p.version for p in serving} == {version}
    assert len(serving) == 3
    # every defined instance serves: nothing half-started or half-stopped is left behind
    assert all(p.serving for p in placement), placement
    ready = {s.slot for s in backends.router.servers() if s.admin == "ready"}
    assert ready == {p.slot for p in serving}
    store = open_store(env)
    try:
        current = store.current("shop", "test")
        assert current is not None and current.version == version
        assert store.lock("shop", "test") is None
    finally:
        store.close()


# steps of v1 → v2 with 3 instances: 0 prepare, 1 infra, then per instance
# start / health / enable / drain / stop (2-6, 7-11, 12-16) and 17 mark_current (too quick
# to be caught reliably while it runs)
@pytest.mark.parametrize("seq", [0, 2, 3, 4, 5, 6, 9, 15, 16])
def test_kill_then_status_then_resume(tmp_path: Path, seq: int) -> None:
    spec = write_spec(tmp_path)
    try:
        assert run("deploy", "-f", spec, "--version", "v1").returncode == 0
        dep_id = kill_when_step_starts(spec, "v2", seq)

        status = json.loads(run("status", "-f", spec, "-o", "json").stdout)
        assert status["last_deployment"]["id"] == dep_id
        assert status["last_deployment"]["status"] == "running"
        assert status["interrupted"]["deployment"] == dep_id
        assert "slipway resume" in status["interrupted"]["hint"]
        # users are still served by one release or the other, never by nothing
        assert sum(i["serving"] for i in status["instances"]) >= 3

        resumed = run("resume", "-f", spec)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert_consistent(spec, "v2")
        logs = json.loads(run("logs", "-f", spec, dep_id, "-o", "json").stdout)
        assert logs["deployment"]["status"] == "succeeded"
        assert any("resumed by" in e["message"] for e in logs["events"])
    finally:
        stop_environment(load_spec(spec).environment("test"))


def test_resume_rolls_back_when_the_spec_says_so(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, on_interrupt="rollback")
    try:
        assert run("deploy", "-f", spec, "--version", "v1").returncode == 0
        kill_when_step_starts(spec, "v2", 9)
        resumed = run("resume", "-f", spec)
        assert resumed.returncode == 3, resumed.stdout + resumed.stderr
        assert_consistent(spec, "v1")
    finally:
        stop_environment(load_spec(spec).environment("test"))


def test_nothing_to_resume_is_a_usage_error(spec_file: Path) -> None:
    result = run("resume", "-f", spec_file)
    assert result.returncode == 2 and "nothing to resume" in result.stderr


def test_interrupted_deployment_blocks_a_new_one_until_resumed(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    try:
        assert run("deploy", "-f", spec, "--version", "v1").returncode == 0
        dep_id = kill_when_step_starts(spec, "v2", 4)
        again = run("deploy", "-f", spec, "--version", "v2")
        assert again.returncode == 4, again.stdout + again.stderr
        assert f"deployment {dep_id}" in again.stderr and "slipway resume" in again.stderr
        # a rollback may supersede it instead
        back = run("rollback", "-f", spec, "--to", "v1")
        assert back.returncode == 0, back.stdout + back.stderr
        assert_consistent(spec, "v1")
        logs = json.loads(run("logs", "-f", spec, dep_id, "-o", "json").stdout)
        assert logs["deployment"]["status"] == "aborted"
        assert "superseded by rollback" in logs["deployment"]["reason"]
    finally:
        stop_environment(load_spec(spec).environment("test"))


CANARY = "{type: canary, steps: [{set_weight: 20}, {pause: {duration_s: 10}}], analysis: null}"


def test_a_canary_killed_in_its_pause_resumes_with_the_time_left(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, strategy=CANARY)
    try:
        assert run("deploy", "-f", spec, "--version", "v1").returncode == 0
        # 0 prepare, 1 infra, 2-4 start, 5-7 health, 8-10 standby, 11 weight 20 %, 12 pause
        dep_id = kill_when_step_starts(spec, "v2", 12)
        status = json.loads(run("status", "-f", spec, "-o", "json").stdout)
        assert status["interrupted"]["deployment"] == dep_id
        # users are served by both releases meanwhile, at the weights the runner left
        assert {i["version"] for i in status["instances"] if i["serving"]} == {"v1", "v2"}
        time.sleep(5)
        resumed = run("resume", "-f", spec)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert_consistent(spec, "v2")
        logs = json.loads(run("logs", "-f", spec, dep_id, "-o", "json").stdout)
        [pause] = [s for s in logs["steps"] if s["kind"] == "pause"]
        # the pause counts from its first start: 10 s in all, not 10 s more after the resume
        assert pause["state"] == "succeeded" and pause["duration_s"] < 13
    finally:
        stop_environment(load_spec(spec).environment("test"))
