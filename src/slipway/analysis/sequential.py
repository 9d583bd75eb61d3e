"""``SequentialJudge``: error rates judged by a test made for looking again and again.

The statistical judge spends its error budget over the looks (look ``k`` gets a share
falling as ``1/k²``), so early looks need overwhelming evidence and a small error rate waits
for several. A mixture sequential probability ratio test (mSPRT; Johari, Pekelis and Walsh,
"Always valid inference", 2017) needs no schedule: its likelihood ratio ``Λ`` against "no
difference", mixed over effects ``θ ~ N(0, τ²)``, is a martingale under the null, so by
Ville's inequality ``P(Λ ever ≥ 1/alpha) ≤ alpha`` however often and however long one looks. The
always-valid p-value is ``min(1, 1 / max Λ so far)``.

For two error rates the difference ``θ̂ = p̂_canary - p̂_baseline`` is near normal with
variance ``V = p̂(1 - p̂)(1/n_c + 1/n_b)`` (``p̂`` pooled), and

    Λ = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))

``τ`` is the size of the effects the test is tuned to find fastest (``TAU``: two points of
error rate, the smallest fault ``bench/detection.py`` injects). The test is one-sided: only a
canary *worse* than its baseline counts. ``alpha`` is split evenly between the metrics.

Latencies are tested as the statistical judge tests them (one-sided Mann-Whitney), but fail
only when the metric's own rule fails too (``> 2 * baseline`` with its ``baseline_floor``):
on a busy machine a canary 6 ms slower than a 3 ms baseline is "significant" and harmless.
"""

from __future__ import annotations

import math
from dataclasses import replace

from slipway.analysis.base import MetricResult, Sample
from slipway.analysis.judges import StatisticalJudge, _maker, significance, threshold_result
from slipway.spec.analysis import MetricSpec

TAU = 0.02


def msprt(canary: Sample, baseline: Sample, *, tau: float = TAU) -> float:
    """The mixture likelihood ratio that the canary's error rate is above the baseline's
    (0 when it is not above, or nothing failed anywhere)."""
    n_c, n_b = canary.requests, baseline.requests
    if not n_c or not n_b:
        return 0.0
    diff = canary.errors / n_c - baseline.errors / n_b
    pooled = (canary.errors + baseline.errors) / (n_c + n_b)
    variance = pooled * (1 - pooled) * (1 / n_c + 1 / n_b)
    if diff <= 0 or variance <= 0:
        return 0.0
    t2 = tau * tau
    exponent = t2 * diff * diff / (2 * variance * (variance + t2))
    return math.sqrt(variance / (variance + t2)) * math.exp(min(exponent, 700.0))


class SequentialJudge(StatisticalJudge):
    cumulative = True

    def __init__(self, *, confidence: float, tests_per_run: int, min_requests: int) -> None:
        super().__init__(
            confidence=confidence, tests_per_run=tests_per_run, min_requests=min_requests
        )
        self._largest: dict[str, float] = {}  # max Λ of each metric so far

    def judge(
        self, metric: MetricSpec, canary: Sample, baseline: Sample | None, *, run_no: int
    ) -> MetricResult:
        if metric.provider == "prometheus" or canary.value is not None:
            return super().judge(metric, canary, baseline, run_no=run_no)
        if metric.measured != "error_rate":
            tested = super().judge(metric, canary, baseline, run_no=run_no)
            if tested.status != "fail":
                return tested
            rule = threshold_result(metric, canary, baseline, min_requests=self.min_requests)
            if rule.status == "fail":
                return tested
            return replace(tested, status="pass", detail=f"{tested.detail}, but {rule.detail}")
        result = _maker(metric, canary, baseline)
        value = canary.measure("error_rate")
        if canary.requests < self.min_requests or baseline is None or not baseline.requests:
            base_n = baseline.requests if baseline is not None else 0
            return result(
                "inconclusive",
                value,
                None,
                f"{canary.requests} canary and {base_n} baseline requests",
            )
        base = baseline.measure("error_rate")
        assert value is not None and base is not None
        ratio = max(self._largest.get(metric.name, 0.0), msprt(canary, baseline))
        self._largest[metric.name] = ratio
        p_value = min(1.0, 1 / ratio) if ratio > 0 else 1.0
        alpha = self.alpha / self.tests_per_run
        return significance(
            result,
            metric,
            value,
            base,
            p_value=p_value,
            alpha=alpha,
            label="always-valid p",
            extra={"msprt": ratio},
        )
