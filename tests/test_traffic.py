"""The traffic generator against the real sample app: bounded, counted, loopback only."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slipway.demo.traffic import MAX_ERRORS_KEPT, TrafficGenerator, check_loopback
from slipway.errors import UsageError
from tests.examples.conftest import (
    SampleApp,
    StartApp,
    build,
    free_port,
    start_app,
    start_sample_app,
)

__all__ = ["start_app"]  # the fixture, shared with tests/examples


@pytest.fixture
def sample_app(start_app: StartApp) -> SampleApp:
    return start_app("v1")


def wait_until_done(traffic: TrafficGenerator, requests: int, *, within_s: float = 10) -> None:
    deadline = time.monotonic() + within_s
    while traffic.requests_so_far() < requests and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Any connection or name lookup is recorded, and fails."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("the test forbids network access here")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://example.com/",
        "https://192.168.1.1:80/work",
        "http://[2001:db8::1]/",
        "http://localhost.example.com/",
        "http://127.0.0.1@example.com/",  # userinfo: the host is example.com
    ],
)
def test_refuses_anything_but_loopback_without_sending_anything(
    url: str, no_network: list[Any]
) -> None:
    with pytest.raises(UsageError, match="refusing to send traffic"):
        TrafficGenerator(url, max_requests=1).start()
    assert no_network == []


@pytest.mark.parametrize("url", ["127.0.0.1:8080/work", "ftp://127.0.0.1/", "http://[::1/"])
def test_refuses_what_is_not_an_http_url(url: str) -> None:
    with pytest.raises(UsageError, match="invalid traffic URL"):
        TrafficGenerator(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://127.9.9.9:8/x", "http://[::1]/", "http://LOCALHOST/"]
)
def test_accepts_loopback(url: str) -> None:
    check_loopback(url)


@pytest.mark.parametrize(
    "bad", [{"concurrency": 0}, {"max_requests": 0}, {"max_duration_s": 0}, {"rate_per_s": 0}]
)
def test_refuses_unbounded_or_nonsense_settings(bad: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        TrafficGenerator("http://127.0.0.1:1/", **bad)  # type: ignore[arg-type]


def test_path_is_used_when_the_url_has_none() -> None:
    assert TrafficGenerator("http://127.0.0.1:8080").url == "http://127.0.0.1:8080/work"
    assert TrafficGenerator("http://127.0.0.1:8080", path="/").url == "http://127.0.0.1:8080/"
    assert TrafficGenerator("http://127.0.0.1:8080/health").url == "http://127.0.0.1:8080/health"


def test_counts_versions_and_stops_by_itself_at_max_requests(sample_app: SampleApp) -> None:
    with TrafficGenerator(sample_app.url, concurrency=3, max_requests=150) as traffic:
        wait_until_done(traffic, 150)
        time.sleep(0.1)  # nothing more is sent
    report = traffic.report
    assert report.requests == 150 and report.failed == 0 and report.errors == []
    assert report.by_version == {"v1": 150}
    assert report.versions_after(0) == {"v1"}
    assert sample_app.log.count('"GET /work HTTP/1.1" 200') == 150
    p50, p95, p99 = report.latencies_ms.values()
    assert p50 is not None and p95 is not None and p99 is not None and p50 <= p95 <= p99
    assert report.duration_s < 5


def test_stops_by_itself_at_max_duration_and_keeps_its_rate(sample_app: SampleApp) -> None:
    traffic = TrafficGenerator(sample_app.url, rate_per_s=50, max_duration_s=1.0).start()
    time.sleep(1.3)
    sent = traffic.requests_so_far()
    time.sleep(0.2)
    report = traffic.stop()
    assert report.requests == sent  # it had stopped by itself
    assert 40 <= report.requests <= 51
    assert report.duration_s == pytest.approx(1.0, abs=0.15)
    assert traffic.stop() is report  # idempotent


def test_counts_server_errors_and_keeps_a_bounded_sample(start_app: StartApp) -> None:
    app = start_app("errors_20pct")
    with TrafficGenerator(app.url, concurrency=2, max_requests=300) as traffic:
        wait_until_done(traffic, 300)
    report = traffic.report
    assert 20 <= report.failed <= 110  # 60 expected
    assert report.failed_between(0, time.monotonic()) == report.failed
    assert len(report.errors) == MAX_ERRORS_KEPT
    assert report.errors[0] == "status 500 from errors_20pct"


def test_counts_failures_when_nothing_listens() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with TrafficGenerator(url, max_requests=20, concurrency=2) as traffic:
        wait_until_done(traffic, 20)
    report = traffic.report
    assert report.requests == 20 and report.failed == 20 and report.by_version == {}
    assert report.errors[0].startswith("ConnectError") and report.p50_ms is None


def test_the_timeline_tells_what_happened_when(sample_app: SampleApp, tmp_path: Path) -> None:
    """v1 is killed, v2 takes its port: failures in the gap, only v2 after it."""
    v2 = build("v2", tmp_path / "v2")
    with TrafficGenerator(sample_app.url, rate_per_s=100, max_duration_s=10) as traffic:
        wait_until_done(traffic, 20)
        down = time.monotonic()
        sample_app.kill()
        time.sleep(0.2)
        app = start_sample_app(v2, port=sample_app.port)
        try:
            up = time.monotonic()
            time.sleep(0.3)
            end = time.monotonic()
        finally:
            app.kill()
    report = traffic.report
    # (a request in flight when a server is killed may fail: hence the 0.1 s margins)
    assert report.failed_between(0, down - 0.1) == 0
    assert report.failed_between(down, up) > 5
    assert report.failed_between(up, end - 0.1) == 0
    assert report.versions_after(up) == {"v2"}
    assert report.by_version.keys() == {"v1", "v2"}
