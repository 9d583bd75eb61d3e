"""``slipway serve`` from the command line: it serves the spec's API until SIGTERM, and an
address beyond loopback without TLS or a proxy is a usage error, not a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.cli.test_team_store import SLIPWAY, run
from tests.server.kit import low_port, write_spec


def test_serve_answers_until_sigterm(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    made = run(
        "token",
        "create",
        "-f",
        spec,
        "--name",
        "ci",
        "--role",
        "viewer",
        "--env",
        "*",
        "-o",
        "json",
    )
    secret = json.loads(made.stdout)["token"]
    port = low_port()
    server = subprocess.Popen(
        [*SLIPWAY, "serve", "-f", str(spec), "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        answer = None
        for _ in range(200):  # bounded: up to ~20 s on a busy machine
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.json()["ok"] is True
        envs = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/environments",
            headers={"Authorization": f"Bearer {secret}"}, timeout=10,
        )  # fmt: skip
        assert [e["environment"] for e in envs.json()["environments"]] == ["production", "staging"]
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert secret not in stderr


def test_beyond_loopback_without_tls_is_refused(tmp_path: Path) -> None:
    done = run("serve", "-f", write_spec(tmp_path), "--listen", "0.0.0.0:7400")
    assert done.returncode == 2 and "beyond loopback" in done.stderr
    assert "Traceback" not in done.stderr
