"""``slipway flags`` as a user runs it: ``serve`` a real process on loopback, ``set``, ``list``
and ``kill`` from other processes, and an OpenFeature client hearing each change."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.test_cli import SLIPWAY, slipway
from tests.support.sample import free_port_range, write_sample_spec


def evaluate(port: int, key: str, user: str) -> dict[str, object]:
    answer = httpx.post(
        f"http://127.0.0.1:{port}/ofrep/v1/evaluate/flags/{key}",
        json={"context": {"targetingKey": user}},
        trust_env=False,
        timeout=5,
    )
    return dict(answer.json())


def wait_for(port: int, key: str, user: str, field: str, value: object) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        try:
            answer = evaluate(port, key, user)
            if answer.get(field) == value:
                return answer
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{key}.{field} never became {value!r}"
        time.sleep(0.05)


def test_serve_set_list_kill(tmp_path: Path) -> None:
    port = free_port_range(1)
    spec = write_sample_spec(tmp_path, extra=f"    flags: {{listen: 127.0.0.1:{port}}}\n")
    server = subprocess.Popen(
        [*SLIPWAY, "flags", "serve", "-f", str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        result = slipway(
            "flags", "set", "new-checkout", "--weight", "20", "--on-for", "alice", "-f", spec
        )
        assert result.returncode == 0, result.stderr
        assert "on for 20% of users, and always for alice" in result.stdout
        wait_for(port, "new-checkout", "alice", "reason", "TARGETING_MATCH")
        split = wait_for(port, "new-checkout", "bob", "reason", "SPLIT")
        assert split["metadata"] == {"weight": 20, "revision": 2}
        listed = slipway("flags", "list", "-f", spec, "--output", "json")
        flags = json.loads(listed.stdout)["flags"]
        assert [(f["key"], f["weight"], f["on_for"], f["enabled"]) for f in flags] == [
            ("new-checkout", 20, ["alice"], True)
        ]
        assert slipway("flags", "kill", "new-checkout", "-f", spec).returncode == 0
        wait_for(port, "new-checkout", "alice", "reason", "DISABLED")
        document = json.loads((tmp_path / "state" / "test" / "flags.json").read_text())
        assert document["flags"]["new-checkout"]["state"] == "DISABLED"
    finally:
        os.kill(server.pid, signal.SIGTERM)
        _, errors = server.communicate(timeout=20)
    assert server.returncode == 0, errors
    assert f"OFREP at http://127.0.0.1:{port}/ofrep/v1/evaluate/flags" in errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "new checkout", "--weight", "5"], "is not a flag key"),
        (["set", "new-checkout"], "nothing to set"),
        (["set", "new-checkout", "--weight", "101"], "less than or equal to 100"),
        (["serve", "--listen", "0.0.0.0:18555"], "beyond loopback"),
    ],
)
def test_mistakes_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    spec = write_sample_spec(tmp_path)
    result = slipway("flags", *args, "-f", spec)
    assert result.returncode == 2 and message in result.stderr, result.stderr
