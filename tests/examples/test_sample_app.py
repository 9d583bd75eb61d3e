"""The sample app misbehaves exactly as its release says."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BUILD, free_port_range, start_sample_app


def run(tmp_path: Path, version: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port_range(1)
    return start_sample_app(tmp_path / version, version, port), f"http://127.0.0.1:{port}"


def test_build_writes_the_catalogue_entry(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(BUILD), "errors_5pct", str(tmp_path / "r")], check=True)
    release = json.loads((tmp_path / "r" / "release.json").read_text())
    assert release["error_rate"] == 0.05 and release["version"] == "errors_5pct"
    unknown = subprocess.run(
        [sys.executable, str(BUILD), "nope", str(tmp_path / "x")], capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "unknown release" in unknown.stderr


@pytest.mark.parametrize(("version", "health"), [("v1", 200), ("v3", 503)])
def test_health_and_release_header(tmp_path: Path, version: str, health: int) -> None:
    process, url = run(tmp_path, version)
    try:
        response = httpx.get(f"{url}/health")
        assert response.status_code == health
        assert response.headers["X-Release"] == version
        assert "app_requests_total" in httpx.get(f"{url}/metrics").text
    finally:
        process.kill()
        process.wait()


def test_error_rate_is_roughly_honoured(tmp_path: Path) -> None:
    process, url = run(tmp_path, "errors_20pct")
    try:
        with httpx.Client() as client:
            codes = [client.get(f"{url}/work").status_code for _ in range(400)]
        assert 40 <= codes.count(500) <= 130
    finally:
        process.kill()
        process.wait()


def test_latency_is_added(tmp_path: Path) -> None:
    process, url = run(tmp_path, "latency_100ms")
    try:
        started = time.monotonic()
        assert httpx.get(f"{url}/work").status_code == 200
        assert time.monotonic() - started >= 0.1
    finally:
        process.kill()
        process.wait()


def test_crash_release_exits_by_itself(tmp_path: Path) -> None:
    process, _ = run(tmp_path, "crash")
    try:
        assert process.wait(timeout=10) != 0
    finally:
        process.kill()
        process.wait()


def test_sigterm_finishes_in_flight_requests_then_exits_0(tmp_path: Path) -> None:
    process, url = run(tmp_path, "latency_300ms")
    result: dict[str, int] = {}

    def slow() -> None:
        result["status"] = httpx.get(f"{url}/work", timeout=5).status_code

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    thread.join(timeout=5)
    try:
        assert result.get("status") == 200
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
        process.wait()
