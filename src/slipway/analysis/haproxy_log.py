"""Per-request data from HAProxy's own log: the honest source of canary latencies.

HAProxy's statistics give counts and a moving *average* of response times over
the last 1024 requests — not percentiles, and not per release. So the router's
config logs one line per request (``%s %ST %Ta`` and the feature-flag variant
the app reported: the slot that answered, the status, the active time in ms)
into a ring buffer of its own, and the runner, while it analyses a release,
follows the ring through the runtime API (``show events <ring> -w -n``;
``router/ring.py``) — on this machine, or over the SSH connection it already
holds to a fleet's LB host. Nobody following costs HAProxy
nothing, and a runner only needs the requests made while it watches.

A ``RequestLog`` (``FollowedLog``) keeps the records (bounded) with the
monotonic time they arrived;
``HAProxyLogProvider`` turns the records of one side's slots in a window into
a ``Sample`` — for a flag rollout, only the records of the side's variant.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from slipway.analysis.base import Sample, Side, Window
from slipway.spec.analysis import MetricSpec

MAX_RECORDS = 2_000_000


@dataclass(frozen=True)
class Record:
    at: float  # monotonic time of arrival
    slot: str
    status: int
    active_ms: float
    variant: str = "-"  # ``<flag>=<variant>`` the app reported, "-" for none


def parse(line: str, at: float) -> Record | None:
    parts = line.strip().split(maxsplit=3)
    if len(parts) not in (3, 4):
        return None
    slot, status, active = parts[:3]
    variant = parts[3] if len(parts) == 4 else "-"
    try:
        return Record(at, slot, int(status), float(active), variant)
    except ValueError:
        return None


class RequestLog:
    """Records of the requests HAProxy logged while a runner listened; a context manager.

    Subclasses say where the lines come from and call ``_add`` for each one.
    """

    def __init__(self) -> None:
        self._records: deque[Record] = deque(maxlen=MAX_RECORDS)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RequestLog:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _add(self, line: str) -> None:
        record = parse(line, time.monotonic())
        if record is not None:
            with self._lock:
                self._records.append(record)

    def __enter__(self) -> RequestLog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def records(self, slots: tuple[str, ...], window: Window) -> list[Record]:
        wanted = set(slots)
        with self._lock:
            return [
                r for r in self._records if r.slot in wanted and window.start <= r.at < window.end
            ]


#: follow(on_line, stop): hands each logged line to on_line until stop is set
Follow = Callable[[Callable[[str], None], threading.Event], None]


class FollowedLog(RequestLog):
    """Lines read from HAProxy's log ring by ``follow`` (the runtime API's ``show events``,
    on this machine or over the LB host's SSH connection), in a thread."""

    def __init__(self, follow: Follow) -> None:
        super().__init__()
        self._follow = follow

    def start(self) -> FollowedLog:
        """Follow from now on; again while following: nothing (one thread, no line twice)."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(
            target=self._follow, args=(self._add, self._stop), name="slipway-haproxy-ring"
        )
        self._thread.daemon = True
        self._thread.start()
        return self


class HAProxyLogProvider:
    """Requests, 5xx answers and per-request times of one side, from the request log."""

    def __init__(self, collector: RequestLog) -> None:
        self._collector = collector

    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        records = self._collector.records(side.slots, window)
        if side.variant is not None:
            reported = f"{side.flag}={side.variant}"
            records = [r for r in records if r.variant == reported]
        return Sample(
            requests=len(records),
            errors=sum(1 for r in records if r.status >= 500 or r.status < 0),
            latencies_ms=tuple(r.active_ms for r in records),
        )
