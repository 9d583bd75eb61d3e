"""``slipway lock`` and ``deploy --lock-wait``: a person holds the environment, deployments wait
for it in order (or step aside for a newer one), and forced releases are recorded."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from slipway.spec import load_spec
from slipway.store import Store
from tests.cli.test_team_store import run
from tests.conftest import stop_environment
from tests.support.sample import write_sample_spec

SLIPWAY = [sys.executable, "-m", "slipway"]


def queued(store: Store, count: int) -> None:
    deadline = time.monotonic() + 60
    while len(store.queue("shop", "test")) < count:
        assert time.monotonic() < deadline, "the deployments never queued"
        time.sleep(0.05)


def test_deployments_wait_for_a_held_lock_in_order(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, count=1)
    store = Store.for_state_dir(tmp_path / "state")
    waiting: list[subprocess.Popen[str]] = []
    try:
        held = run(
            "lock", "acquire", "-f", spec, "-m", "db maintenance", env={"SLIPWAY_USER": "dba"}
        )
        assert held.returncode == 0 and "held by hand for dba" in held.stdout, held.stderr
        refused = run("deploy", "-f", spec, "--version", "v1")
        assert refused.returncode == 4 and "locked by hand for dba" in refused.stderr
        assert "db maintenance" in refused.stderr
        for n, version in enumerate(["v1", "v2"]):
            waiting.append(
                subprocess.Popen(
                    [
                        *SLIPWAY,
                        "deploy",
                        "-f",
                        str(spec),
                        "--version",
                        version,
                        "--lock-wait",
                        "2m",
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
            queued(store, n + 1)
        status = json.loads(run("lock", "status", "-f", spec, "-o", "json").stdout)
        assert status["lock"]["who"] == "dba" and status["lock"]["note"] == "db maintenance"
        assert [w["version"] for w in status["queue"]] == ["v1", "v2"]
        assert run("lock", "release", "-f", spec).returncode == 0
        outputs = [p.communicate(timeout=120)[0] for p in waiting]
        assert [p.returncode for p in waiting] == [0, 0], outputs
        assert "waiting for shop/test: held by hand for dba" in outputs[0]
        history = [(d.version, d.status) for d in reversed(store.deployments("shop", "test"))]
        assert history == [("v1", "succeeded"), ("v2", "succeeded")]
        [first, second] = reversed(store.deployments("shop", "test"))
        assert first.ended_at <= second.started_at  # type: ignore[operator]  # one after the other
    finally:
        for p in waiting:
            if p.poll() is None:
                p.kill()
                p.communicate()
        store.close()
        stop_environment(load_spec(spec).environment("test"))


def test_a_waiting_deployment_steps_aside_for_a_newer_one(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, count=1)
    store = Store.for_state_dir(tmp_path / "state")
    try:
        assert run("lock", "acquire", "-f", spec).returncode == 0
        older = subprocess.Popen(
            [*SLIPWAY, "deploy", "-f", str(spec), "-v", "v1", "--lock-wait", "2m", "--supersede"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        queued(store, 1)
        newer = subprocess.Popen(
            [*SLIPWAY, "deploy", "-f", str(spec), "-v", "v2", "--lock-wait", "2m"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        said = older.communicate(timeout=60)[0]
        assert older.returncode == 4 and "superseded by v2" in said, said
        # a forced release is recorded with who and why
        forced = run("lock", "release", "--force", "-m", "ending the freeze", "-f", spec,
                     env={"SLIPWAY_USER": "carol"})  # fmt: skip
        assert forced.returncode == 0, forced.stderr
        assert newer.communicate(timeout=120)[0] and newer.returncode == 0
        assert [d.version for d in store.deployments("shop", "test")] == ["v2"]
        entries = [(e.action, e.who, e.note) for e in store.lock_log("shop", "test")]
        assert ("forced", "carol", "ending the freeze") in entries
    finally:
        store.close()
        stop_environment(load_spec(spec).environment("test"))


def test_a_runner_lock_is_released_only_by_force(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, count=1)
    store = Store.for_state_dir(tmp_path / "state")
    try:
        store.acquire_lock("shop", "test", deployment_id="d1", ttl_s=600, holder="elsewhere:12")
        refused = run("lock", "release", "-f", spec)
        assert refused.returncode == 2 and "--force" in refused.stderr
        no_reason = run("lock", "release", "--force", "-f", spec)
        assert no_reason.returncode == 2 and "needs a reason" in no_reason.stderr
        bad = run("deploy", "-f", spec, "-v", "v1", "--lock-wait", "soon")
        assert bad.returncode == 2 and "not a duration" in bad.stderr
        timed_out = run("deploy", "-f", spec, "-v", "v1", "--lock-wait", "1s")
        assert timed_out.returncode == 4 and "still locked after waiting 1s" in timed_out.stderr
        assert "runner elsewhere:12" in timed_out.stderr
    finally:
        store.close()
