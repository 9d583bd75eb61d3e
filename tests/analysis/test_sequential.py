"""The sequential judge (mSPRT, always-valid p-values) and robust relative rules."""

from __future__ import annotations

import math
import random

from slipway.analysis import Sample, make_judge
from slipway.analysis.judges import ThresholdJudge
from slipway.analysis.sequential import ErrorSides, SequentialJudge, msprt
from slipway.spec.analysis import AnalysisSpec, MetricSpec, default_metrics

ERRORS = MetricSpec(name="error_rate", fail_if="> 0.01")


def sample(n: int, errors: int) -> Sample:
    return Sample(requests=n, errors=errors, latencies_ms=(1.0,) * n)


def test_the_ratio_grows_with_evidence_and_is_zero_when_not_worse() -> None:
    assert msprt(sample(100, 0), sample(900, 0)) == 0
    assert msprt(sample(100, 0), sample(900, 9)) == 0  # better than its baseline
    assert msprt(sample(50, 1), sample(450, 0)) < 100  # one error in 50: not enough
    assert msprt(sample(100, 3), sample(900, 0)) > 100
    assert msprt(sample(400, 8), sample(3600, 4)) > msprt(sample(200, 4), sample(1800, 2))


def test_two_errors_at_a_tenth_of_the_traffic_are_not_evidence_enough() -> None:
    """With no difference, each error lands on the canary with probability 0.1 (its share of
    the requests): both of two errors there happen 1 % of the time, so at alpha 0.5 % (two
    metrics) they cannot abort. The normal approximation (``msprt``) said p = 0.0009."""
    assert msprt(sample(100, 2), sample(900, 0)) > 1000  # what the judge used to believe
    judge = SequentialJudge(confidence=0.99, tests_per_run=2, min_requests=20)
    two = judge.judge(ERRORS, sample(100, 2), sample(900, 0), run_no=1)
    assert two.status == "pass" and two.extra["p_value"] > 0.01
    three = judge.judge(ERRORS, sample(150, 3), sample(1350, 0), run_no=2)  # a third error
    assert three.status == "fail" and three.extra["p_value"] < 0.005


def test_the_error_sides_ratio_is_a_martingale_under_no_difference_at_any_count() -> None:
    """Exactly: its expectation over where a look's errors fall, when each falls on the
    canary with its share of the requests, is the ratio before the look."""
    for canary_share, errors in [(0.1, 1), (0.1, 2), (0.1, 5), (0.3, 3), (0.02, 4)]:
        n_c = round(1000 * canary_share)
        expected = 0.0
        for on_canary in range(errors + 1):
            chance = (
                math.comb(errors, on_canary)
                * canary_share**on_canary
                * (1 - canary_share) ** (errors - on_canary)
            )
            ratio = ErrorSides().update(
                sample(n_c, on_canary), sample(1000 - n_c, errors - on_canary)
            )
            expected += chance * ratio
        assert math.isclose(expected, 1.0, rel_tol=1e-9), (canary_share, errors)


def test_a_p_value_never_goes_back_up_and_an_abort_needs_one_below_alpha() -> None:
    judge = SequentialJudge(confidence=0.99, tests_per_run=1, min_requests=20)
    first = judge.judge(ERRORS, sample(100, 3), sample(900, 0), run_no=1)
    assert first.status == "fail" and first.extra["p_value"] < 0.01
    judge = SequentialJudge(confidence=0.99, tests_per_run=1, min_requests=20)
    seen = [
        judge.judge(ERRORS, sample(n, e), sample(9 * n, 0), run_no=k).extra["p_value"]
        for k, (n, e) in enumerate([(50, 1), (100, 1), (150, 1)], start=1)
    ]
    assert seen == sorted(seen, reverse=True) and seen[0] == seen[-1]  # always-valid: min
    few = judge.judge(ERRORS, sample(5, 1), sample(50, 0), run_no=4)
    assert few.status == "inconclusive"


def test_good_canaries_are_rarely_aborted_however_often_one_looks() -> None:
    rng = random.Random(3)
    aborted = 0
    for _ in range(300):
        judge = SequentialJudge(confidence=0.99, tests_per_run=2, min_requests=20)
        c_n = c_e = b_n = b_e = 0
        for look in range(1, 31):  # thirty looks, 0.5 % errors on both sides
            c_n += 50
            c_e += sum(rng.random() < 0.005 for _ in range(50))
            b_n += 450
            b_e += sum(rng.random() < 0.005 for _ in range(450))
            if (
                judge.judge(ERRORS, sample(c_n, c_e), sample(b_n, b_e), run_no=look).status
                == "fail"
            ):
                aborted += 1
                break
    assert aborted / 300 < 0.03  # designed for 0.5 % (alpha 1 %, split over 2 metrics)


def test_registered_and_latencies_judged_as_the_statistical_judge_does() -> None:
    spec = AnalysisSpec(judge="sequential")
    assert isinstance(make_judge(spec), SequentialJudge)
    judge = make_judge(spec)
    p95 = default_metrics()[1]
    slow = Sample(requests=200, errors=0, latencies_ms=tuple([100.0] * 200))
    fast = Sample(requests=1800, errors=0, latencies_ms=tuple([2.0] * 1800))
    assert judge.judge(p95, slow, fast, run_no=1).status == "fail"


def test_a_relative_rule_on_a_tiny_baseline_reads_it_at_its_floor() -> None:
    # the false abort of issue 13: baseline p95 1 ms, canary 6 ms on a busy machine
    p95 = default_metrics()[1]
    assert p95.baseline_floor == 10.0
    judge = ThresholdJudge(min_requests=20)
    canary = Sample(requests=50, latencies_ms=tuple([6.0] * 50))
    baseline = Sample(requests=450, latencies_ms=tuple([1.0] * 450))
    assert judge.judge(p95, canary, baseline, run_no=1).status == "pass"
    slow = Sample(requests=50, latencies_ms=tuple([101.0] * 50))
    result = judge.judge(p95, slow, baseline, run_no=1)
    assert result.status == "fail" and "limit 20" in result.detail
    bare = MetricSpec(name="p95_latency_ms", fail_if="> 2 * baseline", min_delta=5.0)
    assert judge.judge(bare, canary, baseline, run_no=1).status == "fail"  # without the floor


def test_a_significant_latency_fails_only_when_its_rule_fails_too() -> None:
    judge = make_judge(AnalysisSpec(judge="sequential"))
    p95 = default_metrics()[1]  # > 2 * baseline, min_delta 5, floor 10 ms
    busy = Sample(requests=200, latencies_ms=tuple([9.0] * 200))  # 9 ms against 3 ms
    calm = Sample(requests=1800, latencies_ms=tuple([3.0] * 1800))
    result = judge.judge(p95, busy, calm, run_no=1)
    assert result.status == "pass" and "but" in result.detail
    statistical = make_judge(AnalysisSpec(judge="statistical"))
    assert statistical.judge(p95, busy, calm, run_no=1).status == "fail"  # what it cost before
