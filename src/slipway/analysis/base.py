"""What analysis works with: samples from providers, verdicts from judges.

A ``Provider`` measures one metric on one side — the canary or its baseline —
over a window of time; a ``Judge`` compares the two samples and says pass,
fail or inconclusive. Both are protocols, so a new metrics source or a new way
of deciding is one module plus one line where they are registered
(``slipway.analysis.analysis``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from slipway.spec.analysis import MetricSpec

MetricStatus = Literal["pass", "fail", "inconclusive"]
Verdict = Literal["continue", "abort", "inconclusive"]


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a version and the slots (router servers) that run it — and,
    in a flag rollout, the flag's variant its requests got (both sides: the same slots)."""

    version: str
    slots: tuple[str, ...]
    flag: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class Window:
    """A span of monotonic time, ``start`` included, ``end`` excluded."""

    start: float
    end: float


@dataclass(frozen=True)
class Sample:
    """What a provider saw of one side: per-request data, or one number (PromQL)."""

    requests: int = 0
    errors: int = 0
    latencies_ms: Sequence[float] = field(default_factory=tuple)
    value: float | None = None

    def measure(self, what: str) -> float | None:
        """``error_rate``, ``p95_latency_ms`` …; None when there is nothing to measure."""
        if self.value is not None:
            return self.value
        if what == "requests":
            return float(self.requests)
        if self.requests == 0:
            return None
        if what == "error_rate":
            return self.errors / self.requests
        if what.endswith("_latency_ms") and self.latencies_ms:
            return percentile(self.latencies_ms, float(what[1:3]))
        return None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile, linear between closest ranks (numpy's default)."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class MetricResult:
    metric: str
    status: MetricStatus
    canary: float | None
    baseline: float | None
    detail: str
    canary_requests: int = 0
    baseline_requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "status": self.status,
            "canary": self.canary,
            "baseline": self.baseline,
            "detail": self.detail,
            "canary_requests": self.canary_requests,
            "baseline_requests": self.baseline_requests,
            **self.extra,
        }


class Provider(Protocol):
    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        """Measure ``metric`` on ``side`` over ``window``; raise ``BackendError`` if it can't."""


class Judge(Protocol):
    #: Whether the judge wants everything since the analysis began (sequential tests),
    #: rather than only what happened since the previous run.
    cumulative: bool

    def judge(
        self, metric: MetricSpec, canary: Sample, baseline: Sample | None, *, run_no: int
    ) -> MetricResult: ...
