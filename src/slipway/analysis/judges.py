"""Judges: is the canary worse than its baseline?

``ThresholdJudge`` applies each metric's ``fail_if`` condition to the run's
window: absolute (``error_rate > 0.01``) or relative to the baseline
(``p95 > 2 * baseline``), with the metric's ``min_delta`` as a noise floor.
Too few canary requests in the window is *inconclusive*, never a pass.

``StatisticalJudge`` asks whether the canary is worse beyond chance, in the
spirit of Kayenta: a one-sided two-proportion test (Fisher's exact test, right
at any count) for error rates, and a one-sided Mann-Whitney U test for
latencies, on everything measured since the analysis began. A metric fails
only when the difference is both significant and larger than the metric's
``min_delta`` (an effect too small to matter is not a reason to roll back).

False aborts. A good release is judged many times — several metrics, one look
per interval — and each look is a chance to abort it by bad luck. The judge
spends its error budget ``alpha = 1 - confidence`` over the looks: look ``k``
may use ``alpha * 6 / (pi^2 k^2)`` (these sum to ``alpha`` over any number of
looks), split evenly between the metrics tested (Bonferroni). So the chance
that a good release is ever aborted by the statistical tests is at most
``1 - confidence`` for the whole analysis, however long it runs — the price is
that late looks need stronger evidence. ``bench/detection.py`` measures the
false-abort rate this gives.

Metrics that are one number (PromQL) have no samples to test: the statistical
judge applies their ``fail_if`` condition like the threshold judge.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from slipway.analysis.base import MetricResult, Sample
from slipway.spec.analysis import MetricSpec


class ThresholdJudge:
    cumulative = False

    def __init__(self, *, min_requests: int) -> None:
        self.min_requests = min_requests

    def judge(
        self, metric: MetricSpec, canary: Sample, baseline: Sample | None, *, run_no: int
    ) -> MetricResult:
        return threshold_result(metric, canary, baseline, min_requests=self.min_requests)


def threshold_result(
    metric: MetricSpec, canary: Sample, baseline: Sample | None, *, min_requests: int
) -> MetricResult:
    condition = metric.condition
    what = metric.measured if metric.provider != "prometheus" else "value"
    value = canary.measure(what)
    base = baseline.measure(what) if baseline is not None else None
    result = _maker(metric, canary, baseline)
    if metric.provider != "prometheus" and canary.requests < min_requests:
        return result(
            "inconclusive",
            value,
            base,
            f"{canary.requests} canary requests, fewer than {min_requests}",
        )
    if value is None:
        return result("inconclusive", None, base, "no data for the canary")
    failed = condition.fails(value, base, floor=metric.baseline_floor)
    if failed is None:
        return result("inconclusive", value, None, "no baseline to compare with")
    if failed and base is not None and abs(value - base) < metric.min_delta:
        failed = False
    limit = condition.limit(base, floor=metric.baseline_floor)
    verb = "fails" if failed else "passes"
    detail = f"{value:.4g} {verb} `{condition}`" + (f" (limit {limit:.4g})" if base else "")
    # the limit kept with the measurement: what the dashboard plots the canary against
    extra = {"limit": limit} if limit is not None else {}
    return result("fail" if failed else "pass", value, base, detail, extra=extra)


def _maker(
    metric: MetricSpec, canary: Sample, baseline: Sample | None
) -> Callable[..., MetricResult]:
    """A MetricResult constructor with the metric and the request counts filled in."""
    return functools.partial(
        MetricResult,
        metric.name,
        canary_requests=canary.requests,
        baseline_requests=baseline.requests if baseline is not None else 0,
    )


class StatisticalJudge:
    cumulative = True

    def __init__(self, *, confidence: float, tests_per_run: int, min_requests: int) -> None:
        self.alpha = 1 - confidence
        self.tests_per_run = max(1, tests_per_run)
        self.min_requests = min_requests

    def alpha_for(self, run_no: int) -> float:
        """The share of the error budget look ``run_no`` (from 1) may spend on one metric."""
        return self.alpha * 6 / (math.pi**2 * run_no**2) / self.tests_per_run

    def judge(
        self, metric: MetricSpec, canary: Sample, baseline: Sample | None, *, run_no: int
    ) -> MetricResult:
        if metric.provider == "prometheus" or canary.value is not None:
            return threshold_result(metric, canary, baseline, min_requests=self.min_requests)
        what = metric.measured
        result = _maker(metric, canary, baseline)
        value = canary.measure(what)
        base = baseline.measure(what) if baseline is not None else None
        if canary.requests < self.min_requests or baseline is None or not baseline.requests:
            base_n = baseline.requests if baseline is not None else 0
            return result(
                "inconclusive",
                value,
                base,
                f"{canary.requests} canary and {base_n} baseline requests",
            )
        alpha = self.alpha_for(run_no)
        if what == "error_rate":
            p_value = _more_errors(canary, baseline)
        elif what.endswith("_latency_ms"):
            p_value = _slower(canary, baseline)
        else:  # a count is not a comparison of quality: judge it by its condition
            return threshold_result(metric, canary, baseline, min_requests=self.min_requests)
        assert value is not None and base is not None
        return significance(result, metric, value, base, p_value=p_value, alpha=alpha)


def _more_errors(canary: Sample, baseline: Sample) -> float:
    """One-sided p-value that the canary's error rate is above the baseline's."""
    from scipy.stats import fisher_exact  # scipy costs a CLI ~0.3 s: only when judging

    table = [
        [canary.errors, canary.requests - canary.errors],
        [baseline.errors, baseline.requests - baseline.errors],
    ]
    return float(fisher_exact(table, alternative="greater").pvalue)


def _slower(canary: Sample, baseline: Sample) -> float:
    """One-sided p-value that canary latencies tend to be larger than the baseline's."""
    from scipy.stats import mannwhitneyu

    if not canary.latencies_ms or not baseline.latencies_ms:
        return 1.0
    result = mannwhitneyu(canary.latencies_ms, baseline.latencies_ms, alternative="greater")
    return float(result.pvalue)


def significance(
    result: Callable[..., MetricResult],
    metric: MetricSpec,
    value: float,
    base: float,
    *,
    p_value: float,
    alpha: float,
    label: str = "p",
    extra: dict[str, float] | None = None,
) -> MetricResult:
    """Worse only when significant *and* more than ``min_delta`` worse; the test's figures
    kept with the result."""
    worse = p_value < alpha and value - base > metric.min_delta
    detail = (
        f"{value:.4g} against {base:.4g}: {label} = {p_value:.2g} "
        f"{'<' if p_value < alpha else '>='} {alpha:.2g}"
    )
    return result(
        "fail" if worse else "pass",
        value,
        base,
        detail,
        extra={"p_value": p_value, "alpha": alpha, **(extra or {})},
    )
