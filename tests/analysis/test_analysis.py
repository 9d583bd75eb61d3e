"""The counting of an analysis (Argo's AnalysisRun rules) on a manual clock.

The samples come from a stand-in provider here: this is the arithmetic of
verdicts. The real providers are tested against HAProxy, Prometheus and the
sample app in tests/engine/test_progressive.py and tests/analysis/test_providers.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from slipway.analysis import Analysis, Sample, Side, Window
from slipway.clock import ManualClock
from slipway.errors import BackendError
from slipway.spec.analysis import AnalysisSpec, MetricSpec

CANARY = Side("v2", ("web-1_b",))
BASELINE = Side("v1", ("web-1_a",))


class Scripted:
    """Gives the canary the next sample of a script (the baseline is always clean)."""

    def __init__(self, script: list[Sample | Exception]) -> None:
        self._script: Iterator[Sample | Exception] = iter(script)

    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        if side is BASELINE:
            return Sample(requests=900)
        item = next(self._script)
        if isinstance(item, Exception):
            raise item
        return item


GOOD, BAD, THIN = Sample(requests=100), Sample(requests=100, errors=20), Sample(requests=3)


def run_all(
    spec: AnalysisSpec, script: list[Sample | Exception], problems: list[str] | None = None
) -> list[tuple[str, str]]:
    clock = ManualClock()
    analysis = Analysis(
        spec,
        canary=CANARY,
        baseline=BASELINE,
        providers={"haproxy": Scripted(script)},
        clock=clock,
        instance_problems=lambda: list(problems or []),
    )
    verdicts = []
    for _ in script:
        assert not analysis.due()
        clock.sleep(spec.interval_s)
        assert analysis.due()
        result = analysis.run()
        verdicts.append((result.status, result.verdict))
        if result.verdict != "continue":
            break
    return verdicts


METRICS = [MetricSpec(name="error_rate", fail_if="> 0.01")]


def test_a_failed_run_aborts_past_the_failure_limit() -> None:
    spec = AnalysisSpec(metrics=METRICS, failure_limit=1)
    assert run_all(spec, [GOOD, BAD, GOOD, BAD]) == [
        ("pass", "continue"),
        ("fail", "continue"),
        ("pass", "continue"),
        ("fail", "abort"),
    ]


def test_a_blind_analysis_aborts_after_consecutive_errors() -> None:
    spec = AnalysisSpec(metrics=METRICS, consecutive_error_limit=1)
    down = BackendError("Prometheus did not answer")
    assert run_all(spec, [down, GOOD, down, down]) == [
        ("error", "continue"),
        ("pass", "continue"),
        ("error", "continue"),
        ("error", "abort"),
    ]


def test_too_little_data_asks_a_person_instead_of_deciding() -> None:
    spec = AnalysisSpec(metrics=METRICS, inconclusive_limit=1)
    assert run_all(spec, [THIN, GOOD, THIN]) == [
        ("inconclusive", "continue"),
        ("pass", "continue"),
        ("inconclusive", "inconclusive"),
    ]


def test_a_crashed_canary_aborts_at_once() -> None:
    spec = AnalysisSpec(metrics=METRICS)
    result = run_all(spec, [GOOD], problems=["web-1_b: v2 restarted (pid 42)"])
    assert result == [("fail", "abort")]


def test_a_rule_with_for_s_fails_only_once_it_held_that_long() -> None:
    """The seeds' "error rate > 5 % for 5 minutes": three intervals of 5 s here."""
    lasting = [MetricSpec(name="error_rate", fail_if="> 0.01", for_s=15)]
    spec = AnalysisSpec(metrics=lasting)
    assert run_all(spec, [BAD, BAD, GOOD, BAD, BAD, BAD]) == [
        ("breach", "continue"),
        ("breach", "continue"),
        ("pass", "continue"),  # the streak ends: the next breach counts from its own start
        ("breach", "continue"),
        ("breach", "continue"),
        ("fail", "abort"),  # failing in every run for 15 s
    ]


class Recorded:
    """A baseline measured once, before: the same sample whatever the window."""

    def __init__(self) -> None:
        self.asked: list[Side] = []

    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        self.asked.append(side)
        return Sample(requests=5000, errors=5)


def test_the_baseline_may_come_from_providers_of_its_own() -> None:
    recorded = Recorded()
    analysis = Analysis(
        AnalysisSpec(metrics=[MetricSpec(name="error_rate", fail_if="> 2 * baseline")]),
        canary=CANARY,
        baseline=BASELINE,
        providers={"haproxy": Scripted([Sample(requests=100, errors=1)])},
        baseline_providers={"haproxy": recorded},
        clock=ManualClock(),
    )
    result = analysis.run()
    assert recorded.asked == [BASELINE]
    assert result.measurements[0]["baseline"] == 0.001  # the recorded one, not Scripted's
    assert result.status == "fail"  # 1 % against 0.1 %
