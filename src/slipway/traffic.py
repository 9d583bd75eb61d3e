"""A bounded traffic generator, for the demo, the tests and the benchmarks.

It sends GET requests from a few threads (one keep-alive HTTP client each),
optionally at a fixed total rate, and records for every request when it was
sent, whether it failed and which release answered (``X-Release``). It stops
by itself after ``max_requests`` or ``max_duration_s``, whichever comes
first, and it refuses any host that is not loopback: Slipway never sends load
anywhere else.

A failure is a connection error, a timeout, or a status of 500 or more.
"""

from __future__ import annotations

import ipaddress
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from slipway.errors import UsageError

MAX_ERRORS_KEPT = 20


@dataclass(frozen=True)
class Sample:
    sent: float  # monotonic time the request was sent
    latency_s: float
    ok: bool
    version: str | None


@dataclass(frozen=True)
class TrafficReport:
    requests: int
    failed: int
    by_version: dict[str, int]
    errors: list[str]
    duration_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    samples: list[Sample] = field(repr=False, default_factory=list)

    def versions_after(self, moment: float) -> set[str]:
        """Releases that answered requests sent after ``moment`` (``time.monotonic()``)."""
        return {s.version for s in self.samples if s.sent >= moment and s.version}

    def failed_between(self, start: float, end: float) -> int:
        return sum(1 for s in self.samples if start <= s.sent < end and not s.ok)


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise UsageError(
        f"refusing to send traffic to {host or url!r}",
        hint="the traffic generator only targets loopback (127.0.0.0/8, ::1, localhost)",
    )


class TrafficGenerator:
    def __init__(
        self,
        url: str,
        *,
        concurrency: int = 4,
        rate_per_s: float | None = None,
        max_requests: int = 100_000,
        max_duration_s: float = 120.0,
        timeout_s: float = 5.0,
    ) -> None:
        check_loopback(url)
        if concurrency < 1 or max_requests < 1 or max_duration_s <= 0:
            raise UsageError("concurrency, max_requests and max_duration_s must be positive")
        self.url = url
        self._concurrency = concurrency
        self._interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self._max_requests = max_requests
        self._max_duration = max_duration_s
        self._timeout = timeout_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._samples: list[Sample] = []
        self._errors: list[str] = []
        self._issued = 0
        self._threads: list[threading.Thread] = []
        self._started = 0.0
        self._report: TrafficReport | None = None

    def start(self) -> TrafficGenerator:
        self._started = time.monotonic()
        for i in range(self._concurrency):
            thread = threading.Thread(target=self._worker, name=f"traffic-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _next_slot(self) -> float | None:
        """Claim the next request; its planned send time, or None when the budget is spent."""
        with self._lock:
            if self._issued >= self._max_requests:
                return None
            slot = self._started + self._issued * self._interval
            self._issued += 1
            return slot

    def requests_so_far(self) -> int:
        with self._lock:
            return len(self._samples)

    def _worker(self) -> None:
        deadline = self._started + self._max_duration
        with httpx.Client(timeout=self._timeout, trust_env=False) as client:
            while not self._stop.is_set():
                slot = self._next_slot()
                if slot is None:
                    return
                wait = slot - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    return
                sent = time.monotonic()
                if sent >= deadline:
                    return
                ok, version, error = self._one(client)
                sample = Sample(sent, time.monotonic() - sent, ok, version)
                with self._lock:
                    self._samples.append(sample)
                    if error and len(self._errors) < MAX_ERRORS_KEPT:
                        self._errors.append(error)

    def _one(self, client: httpx.Client) -> tuple[bool, str | None, str | None]:
        try:
            response = client.get(self.url)
        except httpx.HTTPError as exc:
            return False, None, f"{type(exc).__name__}: {exc}"
        version = response.headers.get("X-Release")
        if response.status_code >= 500:
            return False, version, f"status {response.status_code} from {version}"
        return True, version, None

    def stop(self) -> TrafficReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._timeout + 1)
        with self._lock:
            samples = sorted(self._samples, key=lambda s: s.sent)
            errors = list(self._errors)
        latencies = sorted(s.latency_s * 1000 for s in samples if s.ok)
        self._report = TrafficReport(
            requests=len(samples),
            failed=sum(not s.ok for s in samples),
            by_version=dict(Counter(s.version for s in samples if s.version)),
            errors=errors,
            duration_s=round(time.monotonic() - self._started, 3),
            p50_ms=_percentile(latencies, 50),
            p95_ms=_percentile(latencies, 95),
            p99_ms=_percentile(latencies, 99),
            samples=samples,
        )
        return self._report

    @property
    def report(self) -> TrafficReport:
        if self._report is None:
            raise RuntimeError("the traffic generator has not been stopped yet")
        return self._report

    def __enter__(self) -> TrafficGenerator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _percentile(sorted_values: list[float], pct: int) -> float | None:
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return round(sorted_values[0], 2)
    return round(statistics.quantiles(sorted_values, n=100, method="inclusive")[pct - 1], 2)
