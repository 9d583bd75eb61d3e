"""Real deployments of the sample app announce themselves to a receiver on loopback; a dead
receiver changes nothing about the outcome."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_a_deployment_records_prints_and_sends_no_secret(
    spec_file: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pre-flight command prints a secret, a change line quotes it, the receiver's error
    answer echoes the webhook's secret path: none of it reaches the Go/No-Go table, `logs`,
    the store's file or the messages sent."""
    token = "tok-" + "e3a1f09c77d2"
    prints = "import os; print('token', os.environ['SHOP_TOKEN'])"
    checks = f"""
checks:
  - {{type: command, name: smoke, command: [{sys.executable}, -c, "{prints}"]}}
  - {{type: env, variables: [SHOP_TOKEN], secret: true}}
"""
    spec_file.write_text(spec_file.read_text() + SECTIONS + checks)
    receiver.statuses, receiver.echo_path = [404], True  # "started" is refused, quoting the path
    monkeypatch.setenv("SHOP_TOKEN", token)
    result = deploy(spec_file, "v1", receiver.url(), "--change", f"rotated {token}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "token ***" in result.stdout  # the Go/No-Go table
    store = Store.for_state_dir(load_spec(spec_file).environment("test").state_dir.parent)
    [dep] = store.deployments("shop", "test")
    started, succeeded = Records(store).notifications(dep.id)
    assert (started.status, started.error) == ("failed", "HTTP 404: no_service: no hook at ***")
    assert succeeded.status == "sent"
    assert "rotated ***" in receiver.requests[1]["text"]
    logs = subprocess.run(
        [sys.executable, "-m", "slipway", "logs", "-f", str(spec_file), dep.id],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert logs.returncode == 0, logs.stderr
    db = load_spec(spec_file).environment("test").state_dir.parent / "slipway.db"
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert "token ***" in dump
    for shown in (result.stdout, result.stderr, logs.stdout, dump, json.dumps(receiver.requests)):
        assert token not in shown
        assert "/hooks/T000/B000/secret-token" not in shown
