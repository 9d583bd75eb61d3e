"""A bounded traffic generator, for the demo, the tests and the benchmarks.

It sends GET requests from a few threads (one keep-alive HTTP client each),
optionally at a fixed total rate, and records for every request when it was
sent, how long it took, its status and which release answered it
(``X-Release``). From that record a ``TrafficReport`` answers the questions a
deployment is judged by: how many requests failed, and when; which releases
served after a given moment.

It is bounded twice, because it runs unattended in tests and benchmarks: it
stops by itself after ``max_requests`` or ``max_duration_s``, whichever comes
first. And it only ever targets loopback (127.0.0.0/8, ::1, ``localhost``):
anything else is refused with ``UsageError`` before a single packet is sent,
redirects are not followed, and proxies from the environment are ignored —
Slipway must never become a load generator aimed at someone else. The one
exception is ``test_hosts``: exact addresses of test hosts that the caller
made itself in network namespaces on this machine (``tests.support.hosts``).

A failure is a connection error, a timeout, or a status of 500 or more.

With ``users``, each request comes from one of that many users (``X-User: user-<n>``, drawn
at random): what a flag server buckets by, so a feature flag's share of users is a share of
the traffic. Each sample then also keeps the flag variant the app reported
(``X-Flag-Variant``).
"""

from __future__ import annotations

import ipaddress
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import httpx

from slipway.errors import UsageError

MAX_ERRORS_KEPT = 20


@dataclass(frozen=True)
class Sample:
    """One request: sent at ``sent`` (``time.monotonic()``); ``status`` None when unanswered."""

    sent: float
    latency_s: float
    status: int | None
    version: str | None
    variant: str | None = None  # ``<flag>=<variant>`` the app reported, if any

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500


@dataclass(frozen=True)
class TrafficReport:
    """What the traffic saw. Percentiles are over answered requests (any status), in ms."""

    requests: int
    failed: int
    by_version: dict[str, int]
    errors: list[str]  # the first MAX_ERRORS_KEPT failures, described
    duration_s: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    samples: list[Sample] = field(repr=False, default_factory=list)  # ordered by ``sent``

    @property
    def latencies_ms(self) -> dict[str, float | None]:
        return {"p50": self.p50_ms, "p95": self.p95_ms, "p99": self.p99_ms}

    def versions_after(self, moment: float) -> set[str]:
        """Releases that answered requests sent at or after ``moment`` (``time.monotonic()``)."""
        return {s.version for s in self.samples if s.sent >= moment and s.version}

    def failed_between(self, start: float, end: float) -> int:
        """Failed requests sent in ``[start, end)`` (``time.monotonic()`` moments)."""
        return sum(1 for s in self.samples if start <= s.sent < end and s.failed)


def check_loopback(url: str, *, test_hosts: Collection[str] = ()) -> None:
    """Raise ``UsageError`` unless ``url`` is http(s) to a loopback host (or one of
    ``test_hosts``: addresses of network-namespace test hosts the caller made)."""
    try:
        parsed = httpx.URL(url)  # the parser that will connect, not a look-alike
    except httpx.InvalidURL as exc:
        raise UsageError(f"invalid traffic URL {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise UsageError(
            f"invalid traffic URL {url!r}", hint="write it as http://127.0.0.1:PORT/PATH"
        )
    host = parsed.host
    if host == "localhost" or (host and host in test_hosts):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass  # a name other than localhost: never resolved, refused below
    raise UsageError(
        f"refusing to send traffic to {host or url!r}",
        hint="the traffic generator only targets loopback (127.0.0.0/8, ::1, localhost)",
    )


class TrafficGenerator:
    """GET requests to ``url`` from ``concurrency`` threads, until a bound or ``stop()``.

    ``path`` is used when ``url`` has none (``http://127.0.0.1:8080``); a path in
    ``url`` (even ``/``) wins. With ``rate_per_s`` requests are spread evenly at
    that total rate (a worker that falls behind catches up, bounded by
    ``concurrency``); without it every worker sends as fast as it is answered.
    """

    def __init__(
        self,
        url: str,
        *,
        concurrency: int = 4,
        rate_per_s: float | None = None,
        max_requests: int = 100_000,
        max_duration_s: float = 120.0,
        path: str = "/work",
        timeout_s: float = 5.0,
        test_hosts: Collection[str] = (),
        users: int = 0,
    ) -> None:
        check_loopback(url, test_hosts=test_hosts)
        if concurrency < 1 or max_requests < 1 or max_duration_s <= 0 or timeout_s <= 0:
            raise UsageError(
                "concurrency, max_requests, max_duration_s and timeout_s must be positive"
            )
        if rate_per_s is not None and rate_per_s <= 0:
            raise UsageError("rate_per_s must be positive (or None: as fast as answered)")
        parts = urlsplit(url)
        self.url = url if parts.path else urlunsplit(parts._replace(path=path))
        self._concurrency = concurrency
        self._interval = 1.0 / rate_per_s if rate_per_s else 0.0
        self._max_requests = max_requests
        self._max_duration = max_duration_s
        self._timeout = timeout_s
        self._users = users
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._samples: list[Sample] = []
        self._errors: list[str] = []
        self._issued = 0
        self._running = 0
        self._threads: list[threading.Thread] = []
        self._started: float | None = None
        self._ended: float | None = None  # when the last worker ended by itself
        self._report: TrafficReport | None = None

    def start(self) -> TrafficGenerator:
        if self._started is not None:
            raise RuntimeError("a traffic generator runs once; make a new one")
        self._started = time.monotonic()
        self._running = self._concurrency
        for i in range(self._concurrency):
            thread = threading.Thread(
                target=self._worker, args=(self._started,), name=f"traffic-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def requests_so_far(self) -> int:
        with self._lock:
            return len(self._samples)

    def stop(self) -> TrafficReport:
        """Stop the workers (each finishes its request in flight) and report; idempotent."""
        if self._report is not None:
            return self._report
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._timeout + 1)
        now = time.monotonic()
        with self._lock:
            samples = sorted(self._samples, key=lambda s: s.sent)
            errors = list(self._errors)
            ended = self._ended if self._ended is not None else now
        answered = sorted(s.latency_s * 1000 for s in samples if s.status is not None)
        started = self._started if self._started is not None else now
        self._report = TrafficReport(
            requests=len(samples),
            failed=sum(s.failed for s in samples),
            by_version=dict(Counter(s.version for s in samples if s.version)),
            errors=errors,
            duration_s=round(ended - started, 3),
            p50_ms=_percentile(answered, 50),
            p95_ms=_percentile(answered, 95),
            p99_ms=_percentile(answered, 99),
            samples=samples,
        )
        return self._report

    @property
    def report(self) -> TrafficReport:
        """The report of a stopped generator (after its ``with`` block)."""
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

    def _next_slot(self, started: float) -> float | None:
        """Claim the next request: its planned send time, or None when the budget is spent."""
        with self._lock:
            if self._issued >= self._max_requests:
                return None
            slot = started + self._issued * self._interval
            self._issued += 1
            return slot

    def _worker(self, started: float) -> None:
        deadline = started + self._max_duration
        try:
            # follow_redirects=False (httpx's default) matters: a redirect could leave loopback
            with httpx.Client(
                timeout=self._timeout, trust_env=False, follow_redirects=False
            ) as client:
                while not self._stop.is_set():
                    slot = self._next_slot(started)
                    if slot is None or slot >= deadline:
                        return
                    wait = slot - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        return
                    sent = time.monotonic()
                    if sent >= deadline:
                        return
                    self._record(sent, *self._one(client))
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0 and not self._stop.is_set():
                    self._ended = time.monotonic()

    def _one(self, client: httpx.Client) -> tuple[int | None, str | None, str | None, str | None]:
        """Status, release, flag variant and error description of one request."""
        headers = {"X-User": f"user-{random.randrange(self._users)}"} if self._users else None
        try:
            response = client.get(self.url, headers=headers)
        except httpx.HTTPError as exc:
            return None, None, None, f"{type(exc).__name__}: {exc}"
        version = response.headers.get("X-Release")
        variant = response.headers.get("X-Flag-Variant")
        if response.status_code >= 500:
            error = f"status {response.status_code} from {version}"
            return response.status_code, version, variant, error
        return response.status_code, version, variant, None

    def _record(
        self,
        sent: float,
        status: int | None,
        version: str | None,
        variant: str | None,
        error: str | None,
    ) -> None:
        sample = Sample(sent, time.monotonic() - sent, status, version, variant)
        with self._lock:
            self._samples.append(sample)
            if error and len(self._errors) < MAX_ERRORS_KEPT:
                self._errors.append(error)


def _percentile(sorted_values: list[float], pct: int) -> float | None:
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return round(sorted_values[0], 2)
    return round(statistics.quantiles(sorted_values, n=100, method="inclusive")[pct - 1], 2)
