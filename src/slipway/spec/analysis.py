"""``analysis:``: the metrics that judge a new release while it takes traffic, their
conditions (``fail_if``) and the judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator, model_validator

from slipway.spec.base import Model, Seconds

Measure = Literal["error_rate", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "requests"]

MEASURES: tuple[str, ...] = (
    "error_rate",
    "p50_latency_ms",
    "p95_latency_ms",
    "p99_latency_ms",
    "requests",
)

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"

_CONDITION = re.compile(
    rf"^\s*(?P<op>>=|<=|>|<)\s*(?:"
    rf"(?:(?P<factor>{_NUMBER})\s*\*\s*)?baseline(?:\s*\+\s*(?P<offset>{_NUMBER}))?"
    rf"|(?P<absolute>{_NUMBER}))\s*$"
)


@dataclass(frozen=True)
class Condition:
    """``> 0.01`` or ``> 2 * baseline`` (or ``> 1.5 * baseline + 10``): when a metric fails."""

    op: str
    threshold: float  # the absolute number, or the factor of the baseline
    relative: bool
    offset: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _CONDITION.fullmatch(text)
        if match is None:
            raise ValueError(
                f"cannot read the condition {text!r}: write `> 0.01`, `> 2 * baseline` "
                "or `> 1.5 * baseline + 10`"
            )
        if match["absolute"] is not None:
            return cls(match["op"], float(match["absolute"]), relative=False)
        return cls(
            match["op"],
            float(match["factor"] or 1.0),
            relative=True,
            offset=float(match["offset"] or 0.0),
        )

    def limit(self, baseline: float | None, *, floor: float = 0.0) -> float | None:
        """The value the metric is compared with; None when it needs a baseline it lacks.
        A relative limit reads a baseline under ``floor`` as ``floor``."""
        if not self.relative:
            return self.threshold
        if baseline is None:
            return None
        return self.threshold * max(baseline, floor) + self.offset

    def fails(self, value: float, baseline: float | None, *, floor: float = 0.0) -> bool | None:
        limit = self.limit(baseline, floor=floor)
        if limit is None:
            return None
        return {
            ">": value > limit,
            ">=": value >= limit,
            "<": value < limit,
            "<=": value <= limit,
        }[self.op]

    def __str__(self) -> str:
        if not self.relative:
            return f"{self.op} {self.threshold:g}"
        text = f"{self.op} {self.threshold:g} * baseline"
        return text + (f" + {self.offset:g}" if self.offset else "")


class MetricSpec(Model):
    """One thing to measure on the canary (and its baseline), and when it fails."""

    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,40}$")
    provider: Literal["haproxy", "prometheus", "probe"] = "haproxy"
    measure: Measure | None = Field(
        None,
        description="For haproxy and probe: what to measure (default: the metric's name).",
    )
    query: str | None = Field(
        None,
        description="For prometheus: PromQL giving one number; {{version}}, {{release}}, "
        "{{environment}} and {{servers}} are replaced (for canary and baseline in turn), and "
        "in a flag rollout {{flag}} and {{variant}} (on, then off).",
    )
    path: str = Field(
        "/", pattern=r"^/[A-Za-z0-9._~/%?=&-]*$", description="For probe: what to request."
    )
    requests: int = Field(20, ge=1, le=10_000, description="For probe: requests per run.")
    fail_if: str = Field(..., description="`> 0.01`, `> 2 * baseline`, `> 1.5 * baseline + 10`.")
    min_delta: float = Field(
        0.0,
        ge=0,
        description="Differences from the baseline smaller than this never fail (noise floor).",
    )
    baseline_floor: float = Field(
        0.0,
        ge=0,
        description="A relative rule reads a baseline below this as this (`> 2 * baseline` "
        "on a 1 ms baseline is noise): the limit is never under factor * floor + offset.",
    )
    for_s: float = Field(
        0.0,
        ge=0,
        le=86_400,
        description="The rule must fail in every run for this long before the metric fails "
        "(a sustained breach, as in `error rate > 5 % for 5 minutes`); 0: the first failing run.",
    )

    @field_validator("fail_if")
    @classmethod
    def _condition(cls, value: str) -> str:
        Condition.parse(value)
        return value

    @model_validator(mode="after")
    def _fits_provider(self) -> MetricSpec:
        if self.provider == "prometheus":
            if not self.query:
                raise ValueError("a prometheus metric needs `query:`")
            if self.measure is not None:
                raise ValueError("`measure` is for haproxy and probe metrics; use `query:`")
        else:
            if self.query is not None:
                raise ValueError(f"`query` is for prometheus metrics, not {self.provider}")
            if self.measured not in MEASURES:
                raise ValueError(
                    f"{self.provider} measures {', '.join(MEASURES)}: set `measure:` "
                    f"(the name {self.name!r} is none of them)"
                )
        return self

    @property
    def measured(self) -> str:
        return self.measure or self.name

    @property
    def condition(self) -> Condition:
        return Condition.parse(self.fail_if)


def default_metrics() -> list[MetricSpec]:
    """The seeds' rollback rules: error rate above 1 %, p95 above twice the baseline."""
    return [
        MetricSpec(name="error_rate", fail_if="> 0.01"),
        MetricSpec(
            name="p95_latency_ms", fail_if="> 2 * baseline", min_delta=5.0, baseline_floor=10.0
        ),
    ]


def watch_metrics() -> list[MetricSpec]:
    """The seeds' automatic rollback triggers after a deploy: error rate above 5 % for
    5 minutes, p95 above twice the pre-deploy baseline for 10 minutes."""
    return [
        MetricSpec(name="error_rate", fail_if="> 0.05", for_s=300),
        MetricSpec(
            name="p95_latency_ms",
            fail_if="> 2 * baseline",
            min_delta=5.0,
            baseline_floor=10.0,
            for_s=600,
        ),
    ]


class PrometheusSpec(Model):
    url: str = Field(..., pattern=r"^https?://[A-Za-z0-9.\[\]:_-]+(/[A-Za-z0-9._~/-]*)?$")
    timeout_s: Seconds = 5.0


class AnalysisSpec(Model):
    """Periodic measurement of the canary against its baseline, giving a verdict."""

    interval_s: Seconds = Field(5.0, description="Time between two runs.")
    count: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="Runs of an analysis step (default 3); background analysis runs "
        "for as long as the canary does.",
    )
    judge: Literal["threshold", "statistical", "sequential"] = "threshold"
    confidence: float = Field(
        0.99,
        gt=0.5,
        lt=1,
        description="Statistical judge: 1 - confidence is the false-abort rate it is "
        "designed for, over the whole analysis.",
    )
    min_requests: int = Field(20, ge=1, description="Fewer canary requests in a run: inconclusive.")
    failure_limit: int = Field(0, ge=0, description="Failed runs tolerated; one more aborts.")
    consecutive_error_limit: int = Field(
        2, ge=0, description="Runs in a row a provider may fail to answer; one more aborts."
    )
    inconclusive_limit: int = Field(
        3,
        ge=0,
        description="Inconclusive runs tolerated; one more pauses for `slipway promote` "
        "or `slipway abort`.",
    )
    metrics: list[MetricSpec] = Field(default_factory=default_metrics, min_length=1)
    prometheus: PrometheusSpec | None = None

    @model_validator(mode="after")
    def _providers(self) -> AnalysisSpec:
        names = [m.name for m in self.metrics]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"metric {name!r} appears twice")
        if any(m.provider == "prometheus" for m in self.metrics) and self.prometheus is None:
            raise ValueError("prometheus metrics need `prometheus: {url: http://127.0.0.1:9090}`")
        return self
