"""The sample app misbehaves exactly as its release says, and stops the way it should."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.examples.conftest import BUILD, StartApp

METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-z_]+="[^"]*",?)*)\} (\S+)$')


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """A strict reader of the Prometheus text format (the subset the app writes)."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = METRIC_LINE.match(line)
        assert match, f"not Prometheus text: {line!r}"
        labels = frozenset(re.findall(r'([a-z_]+)="([^"]*)"', match[2]))
        samples[(match[1], labels)] = float(match[3])
    return samples


def build(version: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD), version, str(out)], capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("version", "field", "value"),
    [
        ("v1", "error_rate", 0.0),
        ("v3", "fail_health", True),
        ("v4", "error_rate", 0.05),
        ("errors_5pct", "error_rate", 0.05),
        ("latency_300ms", "latency_ms", 300),
        ("crash", "crash_after_s", 2),
        ("v42", "fail_health", False),  # any v<number> is a good release
    ],
)
def test_build_writes_the_catalogue_entry(
    tmp_path: Path, version: str, field: str, value: object
) -> None:
    assert build(version, tmp_path / "r").returncode == 0
    release = json.loads((tmp_path / "r" / "release.json").read_text())
    assert release["version"] == version and release[field] == value
    assert set(release) == {
        "version",
        "fail_health",
        "fail_health_slots",
        "error_rate",
        "latency_ms",
        "crash_after_s",
        "worker_fails",
        "task_s",
        "flag",
        "flag_error_rate",
        "flag_latency_ms",
        "late_error_rate",
        "flag_late_error_rate",
    }
    for program in ("server.py", "worker.py"):
        assert (tmp_path / "r" / program).read_text() == (BUILD.parent / program).read_text()


def test_build_refuses_an_unknown_release(tmp_path: Path) -> None:
    result = build("v2-typo", tmp_path / "x")
    assert result.returncode == 2
    assert "unknown release 'v2-typo'" in result.stderr and "v<number>" in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(("version", "health"), [("v1", 200), ("v3", 503)])
def test_health_and_release_header_on_every_response(
    start_app: StartApp, version: str, health: int
) -> None:
    app = start_app(version, slot="web-1_a")
    with httpx.Client(base_url=app.url) as client:
        response = client.get("/health")
        assert response.status_code == health
        root = client.get("/")
        assert root.json() == {"version": version, "slot": "web-1_a", "pid": app.process.pid}
        responses = [response, root, client.get("/nope"), client.post("/"), client.get("/metrics")]
    assert [r.status_code for r in responses] == [health, 200, 404, 501, 200]
    assert all(r.headers["X-Release"] == version for r in responses)


def test_a_release_can_fail_on_one_slot_only(start_app: StartApp) -> None:
    bad = start_app("v5", slot="web-3_a")
    good = start_app("v5", slot="web-1_a")
    assert httpx.get(f"{bad.url}/health").status_code == 503
    assert httpx.get(f"{good.url}/health").status_code == 200


def test_error_rate_is_roughly_honoured(start_app: StartApp) -> None:
    app = start_app("errors_20pct")
    with httpx.Client(base_url=app.url) as client:
        codes = [client.get("/work").status_code for _ in range(400)]
        assert client.get("/health").status_code == 200  # the health check is not affected
    assert set(codes) == {200, 500}
    assert 40 <= codes.count(500) <= 130  # 80 expected; 5 standard deviations either way


def test_latency_is_added_and_measured(start_app: StartApp) -> None:
    app = start_app("latency_100ms")
    with httpx.Client(base_url=app.url) as client:
        started = time.monotonic()
        assert client.get("/work").status_code == 200
        assert time.monotonic() - started >= 0.1
        metrics = parse_metrics(client.get("/metrics").text)
    v = ("version", "latency_100ms")
    assert metrics[("app_request_seconds_bucket", frozenset({v, ("le", "0.05")}))] == 0
    assert metrics[("app_request_seconds_bucket", frozenset({v, ("le", "0.25")}))] == 1


def test_metrics_parse_and_count_requests(start_app: StartApp) -> None:
    app = start_app("v2")
    with httpx.Client(base_url=app.url) as client:
        for _ in range(5):
            client.get("/work")
        client.get("/nope")
        metrics = parse_metrics(client.get("/metrics").text)
    v = ("version", "v2")
    assert metrics[("app_requests_total", frozenset({v, ("code", "200")}))] == 5
    assert metrics[("app_requests_total", frozenset({v, ("code", "404")}))] == 1
    buckets = [
        value for (name, _), value in metrics.items() if name == "app_request_seconds_bucket"
    ]
    assert buckets == sorted(buckets) and buckets[-1] == 6  # cumulative, +Inf last
    assert metrics[("app_request_seconds_count", frozenset({v}))] == 6
    assert metrics[("app_requests_in_flight", frozenset({v}))] == 1  # this very request


def test_one_log_line_per_request_on_stdout(start_app: StartApp) -> None:
    app = start_app("v1")
    with httpx.Client(base_url=app.url) as client:
        for path in ("/", "/work", "/health"):
            client.get(path)
    lines = [line for line in app.log.splitlines() if '"GET ' in line]
    assert len(lines) == 3
    assert lines[1].startswith('127.0.0.1 v1 - "GET /work HTTP/1.1" 200 ')


def test_crash_release_exits_with_an_error_by_itself(start_app: StartApp) -> None:
    app = start_app("crash", crash_after_s=0.5)  # the catalogue's 2 s, shortened
    assert httpx.get(f"{app.url}/health").status_code == 200  # healthy at first
    assert app.process.wait(timeout=10) == 3
    assert "crashing on purpose" in (app.directory / "stderr.log").read_text()


def test_sigterm_drains_then_exits_0(start_app: StartApp) -> None:
    """In flight: finished, with Connection: close. Idle keep-alive: closed. New: refused."""
    app = start_app("v1", latency_ms=1500)
    idle = socket.create_connection(("127.0.0.1", app.port))
    slow: dict[str, httpx.Response] = {}
    with idle, httpx.Client(base_url=app.url, timeout=10) as client:
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: app\r\n\r\n")
        answer = b""
        while not answer.endswith(b"\r\n\r\nok\n"):
            answer += idle.recv(4096)
        thread = threading.Thread(target=lambda: slow.update(response=client.get("/work")))
        thread.start()
        deadline = time.monotonic() + 5
        while 'app_requests_in_flight{version="v1"} 2' not in httpx.get(f"{app.url}/metrics").text:
            assert time.monotonic() < deadline, "the slow request never arrived"
            time.sleep(0.02)

        app.process.send_signal(signal.SIGTERM)
        idle.settimeout(1.0)
        assert idle.recv(4096) == b""  # the idle connection is closed at once
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{app.url}/health")  # no new connections
        assert thread.is_alive() and app.process.poll() is None  # still draining

        thread.join(timeout=5)
    assert slow["response"].status_code == 200
    assert slow["response"].headers["Connection"] == "close"
    assert app.process.wait(timeout=5) == 0
    assert "stopped (0 requests cut short)" in app.log
