"""The traffic generator against the real sample app: bounded, counted, loopback only."""

from __future__ import annotations

import time

import pytest

from slipway.errors import UsageError
from slipway.traffic import TrafficGenerator, check_loopback
from tests.conftest import free_port_range


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/", "http://example.com/", "http://192.168.1.1:80/", "http://[2001:db8::1]/"],
)
def test_refuses_anything_but_loopback(url: str) -> None:
    with pytest.raises(UsageError, match="refusing"):
        TrafficGenerator(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://127.9.9.9:8/x", "http://[::1]/", "http://localhost/"]
)
def test_accepts_loopback(url: str) -> None:
    check_loopback(url)


def test_counts_versions_and_stops_at_max_requests(sample_app: int) -> None:
    with TrafficGenerator(
        f"http://127.0.0.1:{sample_app}/work", concurrency=3, max_requests=150
    ) as traffic:
        deadline = time.monotonic() + 10
        while traffic.requests_so_far() < 150 and time.monotonic() < deadline:
            time.sleep(0.02)
    report = traffic.report
    assert report.requests == 150 and report.failed == 0
    assert report.by_version == {"v1": 150}
    assert report.versions_after(0) == {"v1"}
    assert report.p50_ms is not None and report.p99_ms is not None


def test_stops_by_itself_at_max_duration_and_keeps_its_rate(sample_app: int) -> None:
    traffic = TrafficGenerator(
        f"http://127.0.0.1:{sample_app}/work", rate_per_s=50, max_duration_s=1.0
    ).start()
    time.sleep(1.5)
    report = traffic.stop()
    assert 35 <= report.requests <= 55


def test_counts_failures_when_nothing_listens() -> None:
    port = free_port_range(1)
    with TrafficGenerator(f"http://127.0.0.1:{port}/", max_requests=20, concurrency=2) as traffic:
        time.sleep(0.5)
    assert traffic.report.requests == 20 and traffic.report.failed == 20
    assert traffic.report.errors
