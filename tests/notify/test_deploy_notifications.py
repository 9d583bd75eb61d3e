"""Real deployments of the sample app announce themselves to a receiver on loopback; a dead
receiver changes nothing about the outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from slipway.spec import load_spec
from slipway.store import Store
from slipway.store.records import Records
from tests.notify.conftest import Receiver

SECTIONS = """
contacts:
  - level: 1
    contacts: [{role: DevOps lead, name: Antoine, phone: "+33 6 00", hours: 9h-19h}]
notifications:
  - {type: slack, url_env: SHOP_SLACK_URL, retries: 1, backoff_s: 0.1, timeout_s: 2}
"""


def deploy(
    spec_file: Path, version: str, url: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOP_SLACK_URL": url, "SLIPWAY_USER": "antoine"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "slipway",
            "deploy",
            "-f",
            str(spec_file),
            "--version",
            version,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_started_succeeded_and_rolled_back_reach_the_receiver(
    spec_file: Path, receiver: Receiver
) -> None:
    spec_file.write_text(spec_file.read_text() + SECTIONS)
    first = deploy(
        spec_file, "v1", receiver.url(), "--commit", "abc1234", "--change", "checkout page"
    )
    assert first.returncode == 0, first.stdout + first.stderr
    bad = deploy(spec_file, "v3", receiver.url())
    assert bad.returncode == 3, bad.stdout + bad.stderr
    texts = [r["text"] for r in receiver.requests]
    assert [t.splitlines()[0] for t in texts] == [
        "🚀 Deployment started: shop/test",
        "✅ Deployment succeeded: shop/test",
        "🚀 Deployment started: shop/test",
        "⚠️ Deployment rolled back: shop/test",
    ]
    assert (
        "Commit: abc1234" in texts[1]
        and "By: antoine" in texts[1]
        and "- checkout page" in texts[1]
    )
    assert "Rolled back to: v1" in texts[3] and "Reason:" in texts[3]
    assert "level 1: DevOps lead Antoine, +33 6 00 (9h-19h)" in texts[3]
    store = Store.for_state_dir(load_spec(spec_file).environment("test").state_dir.parent)
    deployments = store.deployments("shop", "test")
    sent = [n for d in deployments for n in Records(store).notifications(d.id)]
    assert len(sent) == 4 and {n.status for n in sent} == {"sent"}


def test_a_dead_receiver_never_fails_the_deployment(spec_file: Path, receiver: Receiver) -> None:
    spec_file.write_text(spec_file.read_text() + SECTIONS)
    receiver.statuses = [500] * 10
    result = deploy(spec_file, "v1", receiver.url())
    assert result.returncode == 0, result.stdout + result.stderr
    store = Store.for_state_dir(load_spec(spec_file).environment("test").state_dir.parent)
    [dep] = store.deployments("shop", "test")
    assert dep.status == "succeeded"
    failed = Records(store).notifications(dep.id)
    assert [(n.event, n.status, n.attempts) for n in failed] == [
        ("started", "failed", 2),
        ("succeeded", "failed", 2),
    ]
    assert "secret" not in (failed[0].error or "")
