"""One clock for every pause, interval and timeout.

Steps and checks never call ``time.sleep`` or ``time.monotonic`` themselves:
they take a ``Clock``. Production code uses ``SystemClock``; unit tests of
schedules (health-check thresholds, lease renewal, analysis intervals) pass a
``ManualClock`` whose ``sleep`` advances time at once, so they run in
milliseconds and cannot be flaky.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """Time that moves only when slept on; for tests of schedules."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._elapsed = 0.0
        self._start = start or datetime(2026, 1, 5, 10, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += max(0.0, seconds)


def utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z, the one timestamp format of the store and JSON output."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
