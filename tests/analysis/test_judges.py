"""Judges are pure: samples in, pass / fail / inconclusive out."""

from __future__ import annotations

import math
import random

import pytest

from slipway.analysis import Sample, StatisticalJudge, ThresholdJudge
from slipway.spec.analysis import Condition, MetricSpec

ERRORS = MetricSpec(name="error_rate", fail_if="> 0.01")
P95 = MetricSpec(name="p95_latency_ms", fail_if="> 2 * baseline", min_delta=5)


def sample(
    n: int, errors: int = 0, *, latency: float = 2.0, spread: float = 1.0, seed: int = 0
) -> Sample:
    rng = random.Random(seed)
    return Sample(
        requests=n,
        errors=errors,
        latencies_ms=tuple(latency + rng.expovariate(1 / spread) for _ in range(n)),
    )


@pytest.mark.parametrize(
    ("text", "value", "baseline", "fails"),
    [
        ("> 0.01", 0.02, None, True),
        ("> 0.01", 0.01, None, False),
        (">= 0.01", 0.01, None, True),
        ("> 2 * baseline", 9.0, 4.0, True),
        ("> 2 * baseline", 7.0, 4.0, False),
        ("> 1.5 * baseline + 10", 20.0, 4.0, True),
        ("< 0.5 * baseline", 1.0, 4.0, True),
        ("> 2 * baseline", 9.0, None, None),  # no baseline: cannot tell
    ],
)
def test_conditions(text: str, value: float, baseline: float | None, fails: bool | None) -> None:
    assert Condition.parse(text).fails(value, baseline) is fails


@pytest.mark.parametrize("text", ["bigger than 1", "> 2 * canary", "0.01", "> -1", "=> 1"])
def test_bad_conditions_say_how_to_write_them(text: str) -> None:
    with pytest.raises(ValueError, match="> 2 \\* baseline"):
        Condition.parse(text)


def test_threshold_judge() -> None:
    judge = ThresholdJudge(min_requests=20)
    assert judge.judge(ERRORS, sample(100, 5), sample(900), run_no=1).status == "fail"
    assert judge.judge(ERRORS, sample(100, 1), sample(900), run_no=1).status == "pass"
    assert judge.judge(ERRORS, sample(10, 5), sample(900), run_no=1).status == "inconclusive"
    slow = sample(100, latency=120)
    assert judge.judge(P95, slow, sample(900), run_no=1).status == "fail"
    # twice a tiny baseline is still tiny: below min_delta it is noise, not a regression
    assert (
        judge.judge(P95, sample(100, latency=4), sample(900, latency=1), run_no=1).status == "pass"
    )


def test_statistical_judge_catches_real_regressions() -> None:
    judge = StatisticalJudge(confidence=0.99, tests_per_run=2, min_requests=20)
    errors = judge.judge(ERRORS, sample(100, 5), sample(900, 0), run_no=1)
    assert errors.status == "fail" and errors.extra["p_value"] < errors.extra["alpha"]
    slower = judge.judge(P95, sample(100, latency=102), sample(900, latency=2, seed=1), run_no=1)
    assert slower.status == "fail"
    same = judge.judge(P95, sample(100, seed=2), sample(900, seed=3), run_no=1)
    assert same.status == "pass"


def test_alpha_spending_keeps_the_whole_analysis_within_its_budget() -> None:
    judge = StatisticalJudge(confidence=0.95, tests_per_run=2, min_requests=1)
    spent = sum(judge.alpha_for(k) for k in range(1, 100_000)) * judge.tests_per_run
    assert spent < 0.05
    assert math.isclose(spent, 0.05, rel_tol=1e-3)


def test_statistical_judge_rarely_aborts_a_good_release() -> None:
    """Many good canaries, each looked at 10 times on growing data: few false aborts."""
    judge = StatisticalJudge(confidence=0.95, tests_per_run=2, min_requests=20)
    rng = random.Random(7)
    aborted = 0
    trials = 200
    for _ in range(trials):
        canary_errors = baseline_errors = 0
        canary_lat: list[float] = []
        base_lat: list[float] = []
        for look in range(1, 11):
            for _ in range(50):
                canary_errors += rng.random() < 0.002
                canary_lat.append(2 + rng.expovariate(1.0))
            for _ in range(450):
                baseline_errors += rng.random() < 0.002
                base_lat.append(2 + rng.expovariate(1.0))
            canary = Sample(len(canary_lat), canary_errors, tuple(canary_lat))
            baseline = Sample(len(base_lat), baseline_errors, tuple(base_lat))
            if any(
                judge.judge(m, canary, baseline, run_no=look).status == "fail"
                for m in (ERRORS, P95)
            ):
                aborted += 1
                break
    assert aborted / trials <= 0.05
