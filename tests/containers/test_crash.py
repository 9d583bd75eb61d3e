"""Crashes against containers: the runner killed with SIGKILL mid-rollout, dockerd restarted
mid-rollout (with ``--live-restore``, which keeps containers running meanwhile, and without,
where they stop and come back by their restart policy) — and ``slipway resume`` ends where
containers, HAProxy and the store agree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slipway.spec import load_spec
from slipway.store import Store
from tests.conftest import stop_environment
from tests.engine.test_crash import assert_consistent, kill_when_step_starts, run
from tests.support.dockerd import Dockerd
from tests.support.sample_docker import write_docker_spec

SLIPWAY = [sys.executable, "-m", "slipway"]


def deployed(tmp_path: Path, dockerd: Dockerd) -> Path:
    spec = write_docker_spec(tmp_path, docker_host=dockerd.host)
    first = run("deploy", "-f", spec, "--version", "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    return spec


def resume_is_consistent(spec: Path, dep_id: str, dockerd: Dockerd) -> None:
    status = json.loads(run("status", "-f", spec, "-o", "json").stdout)
    assert status["interrupted"]["deployment"] == dep_id
    resumed = run("resume", "-f", spec)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_consistent(spec, "v2")
    out = dockerd.cli("ps", "-a", "--format", '{{.Label "slipway.version"}} {{.State}}').stdout
    assert sorted(out.decode().splitlines()) == ["v2 running"] * 3  # nothing else left


# 0 prepare, 1 infra, then per instance start / health / enable / drain / stop (2-6, 7-11, …)
@pytest.mark.parametrize("seq", [2, 3, 6, 10])
def test_runner_killed_mid_rollout_then_resume(dockerd: Dockerd, tmp_path: Path, seq: int) -> None:
    spec = deployed(tmp_path, dockerd)
    try:
        dep_id = kill_when_step_starts(spec, "v2", seq)
        resume_is_consistent(spec, dep_id, dockerd)
    finally:
        stop_environment(load_spec(spec).environment("test"))


@pytest.mark.parametrize("live_restore", [True, False], ids=["live-restore", "plain"])
def test_dockerd_restarted_while_the_runner_died_then_resume(
    dockerd: Dockerd, tmp_path: Path, live_restore: bool
) -> None:
    """The machine's Docker restarts while a runner dies mid-rollout (say, a host reboot of
    both): resume reads the placement back from Docker and finishes."""
    dockerd.live_restore = live_restore
    dockerd.restart()
    spec = deployed(tmp_path, dockerd)
    try:
        dep_id = kill_when_step_starts(spec, "v2", 8)  # web-2_b's health check
        before = dockerd.cli("ps", "-q").stdout.split()
        dockerd.restart()
        after = dockerd.cli("ps", "-q").stdout.split()
        assert sorted(after) == sorted(before)  # the same containers: kept, or restarted
        resume_is_consistent(spec, dep_id, dockerd)
    finally:
        stop_environment(load_spec(spec).environment("test"))


@pytest.mark.parametrize("live_restore", [True, False], ids=["live-restore", "plain"])
def test_dockerd_restarted_under_a_running_deployment(
    dockerd: Dockerd, tmp_path: Path, live_restore: bool
) -> None:
    """dockerd stops and starts again while the runner goes on: its calls fail meanwhile,
    retried as a backend error, and the deployment succeeds — v2 everywhere, nothing else."""
    dockerd.live_restore = live_restore
    dockerd.restart()
    spec = deployed(tmp_path, dockerd)
    try:
        runner = subprocess.Popen(
            [*SLIPWAY, "deploy", "-f", str(spec), "--version", "v2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        wait_for_running_step(spec, "v2", 7)  # web-2_b's start
        dockerd.restart()
        output, _ = runner.communicate(timeout=180)
        assert runner.returncode == 0, output
        assert "does not answer" in output and "retrying" in output  # it did see the gap
        assert_consistent(spec, "v2")
    finally:
        if "runner" in locals() and runner.poll() is None:
            os.kill(runner.pid, signal.SIGKILL)
            runner.wait()
        stop_environment(load_spec(spec).environment("test"))


def wait_for_running_step(spec: Path, version: str, seq: int) -> None:
    store = Store.for_state_dir(spec.parent / "state")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            deployments = store.deployments("shop", "test", limit=1)
            if deployments and deployments[0].version == version:
                steps = store.steps(deployments[0].id)
                if len(steps) > seq and steps[seq].state != "pending":
                    return
            time.sleep(0.01)
        raise AssertionError(f"step {seq} never started")
    finally:
        store.close()
