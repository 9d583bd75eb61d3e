"""A runner paused past its lease: another runner takes over and finishes; the paused one, once
continued, writes not one more transition and stops, saying why (a real runner, SIGSTOP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from slipway.spec import load_spec
from slipway.store import Store
from tests.conftest import stop_environment
from tests.engine.test_crash import assert_consistent, run
from tests.support.sample import write_sample_spec

SLIPWAY = [sys.executable, "-m", "slipway"]
CANARY = "{type: canary, steps: [{set_weight: 50}, {pause: {duration_s: 4}}], analysis: null}"


def wait_until(predicate, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_runner_paused_past_its_lease_writes_nothing_more(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, strategy=CANARY, extra="store: {lease_ttl_s: 2}\n")
    store = Store.for_state_dir(tmp_path / "state")
    try:
        assert run("deploy", "-f", spec, "--version", "v1").returncode == 0
        runner = subprocess.Popen(
            [*SLIPWAY, "deploy", "-f", str(spec), "--version", "v2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        def in_pause() -> bool:
            deps = store.deployments("shop", "test", limit=1)
            return (
                bool(deps)
                and deps[0].version == "v2"
                and any(s.kind == "pause" and s.state == "running" for s in store.steps(deps[0].id))
            )

        wait_until(in_pause)
        os.kill(runner.pid, signal.SIGSTOP)  # a laptop's lid closed
        [dep] = store.deployments("shop", "test", limit=1)
        lock = store.lock("shop", "test")
        assert lock is not None
        wait_until(lambda: store.now() > lock.expires_at)

        resumed = run("resume", "-f", spec)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert_consistent(spec, "v2")
        steps = [(s.seq, s.state, s.attempts) for s in store.steps(dep.id)]
        events = [e.message for e in store.events(dep.id)]
        token = store.lock_log("shop", "test")[0].token

        os.kill(runner.pid, signal.SIGCONT)
        _, stderr = runner.communicate(timeout=60)
        assert runner.returncode == 1, stderr
        assert (
            "no longer holds shop/test: lease token 3 is newer than its 2: taken over" in stderr
        ), stderr
        assert "writes nothing more" in stderr, stderr
        # not one transition, event or release more from the paused runner
        assert [(s.seq, s.state, s.attempts) for s in store.steps(dep.id)] == steps
        assert [e.message for e in store.events(dep.id)] == events
        assert store.deployment(dep.id).status == "succeeded"
        assert store.lock_log("shop", "test")[0].token == token  # it took nothing back
        assert_consistent(spec, "v2")
    finally:
        store.close()
        stop_environment(load_spec(spec).environment("test"))
