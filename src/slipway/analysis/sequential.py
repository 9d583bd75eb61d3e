"""``SequentialJudge``: error rates judged by a test made for looking again and again.

The statistical judge spends its error budget over the looks (look ``k`` gets a share
falling as ``1/k²``), so early looks need overwhelming evidence and a small error rate waits
for several. A mixture sequential probability ratio test (mSPRT; Johari, Pekelis and Walsh,
"Always valid inference", 2017) needs no schedule: its likelihood ratio ``Λ`` against "no
difference", mixed over the alternatives, is a martingale under the null, so by Ville's
inequality ``P(Λ ever ≥ 1/alpha) ≤ alpha`` however often and however long one looks. The
always-valid p-value is ``min(1, 1 / max Λ so far)``.

The test here is exact at any count, which matters: a canary's look has ~50 requests and a
good release makes an error now and then. Under "no difference", and given how many errors
each look saw, each error lands on the canary with probability ``q`` — its share of the
look's requests — whatever the error rate is; a canary whose odds of an error are ``r``
times the baseline's moves that to ``q' = r q / (r q + 1 - q)``. The likelihood ratio of the
errors' sides, look after look, mixed over ``r`` (``ODDS``: from 3 to 1000 times worse, weighted
toward a broken release), is a martingale under the null, so Ville's inequality holds
exactly. (The normal approximation of the difference of rates this judge used first,
Johari et al.'s two-proportion mSPRT, is off at two or three errors: with 0.1 % errors on
both sides it aborted more good canaries than its alpha — ``bench/judges.py``, README.)

The price is the floor no test escapes: ``k`` errors all on a canary with ``q = 0.1`` are
evidence ``10^k`` at most, so at ``alpha = 0.005`` per metric an abort needs three of them.

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

#: (odds ratio, prior weight): how much worse a bad canary's odds of an error may be
ODDS = ((3.0, 0.1), (10.0, 0.15), (30.0, 0.25), (100.0, 0.25), (1000.0, 0.25))


def msprt(canary: Sample, baseline: Sample, *, tau: float = TAU) -> float:
    """The two-proportion mixture likelihood ratio under a normal approximation (Johari et
    al.): kept to compare with (``bench/judges.py``); the judge uses ``ErrorSides``."""
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


class ErrorSides:
    """The running mixture likelihood ratio that the canary errs more than its baseline, from
    which side each look's errors fell on (exact at any count; the module's docstring)."""

    def __init__(self) -> None:
        self._log = [0.0] * len(ODDS)
        self._seen = (0, 0, 0, 0)  # canary requests, errors; baseline requests, errors

    def update(self, canary: Sample, baseline: Sample) -> float:
        """Take in the cumulative samples of a new look; the ratio so far."""
        now = (canary.requests, canary.errors, baseline.requests, baseline.errors)
        if any(a < b for a, b in zip(now, self._seen, strict=True)):
            self._seen = (0, 0, 0, 0)  # not cumulative after all: what is given is a look
        n_c, e_c, n_b, e_b = (a - b for a, b in zip(now, self._seen, strict=True))
        self._seen = now
        if n_c > 0 and n_b > 0 and e_c + e_b > 0:
            q = n_c / (n_c + n_b)
            for i, (r, _) in enumerate(ODDS):
                q1 = r * q / (r * q + 1 - q)
                self._log[i] += e_c * math.log(q1 / q) + e_b * math.log((1 - q1) / (1 - q))
        return sum(w * math.exp(min(lg, 700.0)) for (_, w), lg in zip(ODDS, self._log, strict=True))


class SequentialJudge(StatisticalJudge):
    cumulative = True

    def __init__(self, *, confidence: float, tests_per_run: int, min_requests: int) -> None:
        super().__init__(
            confidence=confidence, tests_per_run=tests_per_run, min_requests=min_requests
        )
        self._largest: dict[str, float] = {}  # max Λ of each metric so far
        self._sides: dict[str, ErrorSides] = {}

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
        sides = self._sides.setdefault(metric.name, ErrorSides())
        ratio = max(self._largest.get(metric.name, 0.0), sides.update(canary, baseline))
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
