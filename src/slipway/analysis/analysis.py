"""One analysis: runs at an interval, each measuring every metric on canary and baseline,
judged, recorded, and counted towards a verdict.

The counting follows Argo Rollouts' AnalysisRun: a run *fails* when a metric
fails; more than ``failure_limit`` failed runs abort. A provider that cannot
answer is an *error*; more than ``consecutive_error_limit`` in a row abort
(a blind canary is not a healthy one). A run with too little data is
*inconclusive*; more than ``inconclusive_limit`` of them hand the decision to
a person (``slipway promote`` or ``slipway abort``) instead of guessing.

Besides metrics, every run looks at the canary's instances themselves: one
that stopped, restarted or was marked down by the router's health checks
aborts at once — a crashing release must not wait for its error rate.

A metric with ``for_s`` fails only once its rule has failed in every run for that long (the
seeds' "error rate > 5 % for 5 minutes"): until then such a run is a *breach* — recorded,
warned about, not counted as a failure. A run where the rule holds again ends the streak.

The baseline's numbers may come from other providers than the canary's
(``baseline_providers``): after promotion nothing of the previous release serves any more,
and the watch compares with what it measured before the deploy (``analysis/recorded.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slipway.analysis.base import Judge, MetricResult, Provider, Side, Verdict, Window
from slipway.analysis.judges import StatisticalJudge, ThresholdJudge
from slipway.analysis.sequential import SequentialJudge
from slipway.clock import Clock
from slipway.errors import SlipwayError
from slipway.spec.analysis import AnalysisSpec

DEFAULT_STEP_RUNS = 3


@dataclass(frozen=True)
class RunResult:
    run_no: int
    verdict: Verdict  # of the analysis so far, after this run
    status: str  # of this run: pass | fail | inconclusive | error
    summary: str
    measurements: Sequence[dict[str, Any]] = field(default_factory=tuple)


#: one judge per ``analysis.judge`` of the spec, made from the analysis' spec
JUDGES: dict[str, Callable[[AnalysisSpec], Judge]] = {
    "threshold": lambda spec: ThresholdJudge(min_requests=spec.min_requests),
    "statistical": lambda spec: StatisticalJudge(
        confidence=spec.confidence, tests_per_run=len(spec.metrics), min_requests=spec.min_requests
    ),
    "sequential": lambda spec: SequentialJudge(
        confidence=spec.confidence, tests_per_run=len(spec.metrics), min_requests=spec.min_requests
    ),
}


def make_judge(spec: AnalysisSpec) -> Judge:
    return JUDGES[spec.judge](spec)


class Analysis:
    def __init__(
        self,
        spec: AnalysisSpec,
        *,
        name: str = "analysis",
        canary: Side,
        baseline: Side | None,
        providers: Mapping[str, Provider],
        clock: Clock,
        instance_problems: Callable[[], list[str]] = list,
        judge: Judge | None = None,
        first_run_no: int = 1,
        baseline_providers: Mapping[str, Provider] | None = None,
    ) -> None:
        """``baseline_providers``: where the baseline's numbers come from, when not from the
        canary's ``providers`` (a recorded pre-deploy measurement)."""
        self.spec = spec
        self.name = name
        self.canary = canary
        self.baseline = baseline
        self._providers = providers
        self._baseline_providers = baseline_providers or providers
        self._clock = clock
        self._problems = instance_problems
        self.judge = judge or make_judge(spec)
        self.started = clock.monotonic()
        self._last = self.started
        self.next_at = self.started + spec.interval_s
        self.run_no = first_run_no - 1
        self.failures = 0
        self.consecutive_errors = 0
        self.inconclusives = 0
        self._failing_since: dict[str, float] = {}  # metric → start of its failing streak

    def acknowledge(self) -> None:
        """A person decided to go on after inconclusive runs: count them afresh."""
        self.inconclusives = 0

    def due(self) -> bool:
        return self._clock.monotonic() >= self.next_at

    def run(self) -> RunResult:
        """Measure and judge now; the verdict says whether to go on."""
        now = self._clock.monotonic()
        self.run_no += 1
        self.next_at = now + self.spec.interval_s
        previous = self._last
        window = Window(self.started if self.judge.cumulative else previous, now)
        self._last = now

        problems = self._problems()
        if problems:
            return RunResult(self.run_no, "abort", "fail", "; ".join(problems))

        results, errors = self._measure(window)
        breaching = self._streaks(results, since=previous, now=now)
        measurements = [r.as_dict() for r in results] + [{"error": e} for e in errors]

        failed = [r for r in results if r.status == "fail" and r.metric not in breaching]
        if failed:
            self.failures += 1
            self.consecutive_errors = 0
            summary = "; ".join(f"{r.metric} {r.detail}" for r in failed)
            verdict: Verdict = "abort" if self.failures > self.spec.failure_limit else "continue"
            return RunResult(self.run_no, verdict, "fail", summary, measurements)
        if errors:
            self.consecutive_errors += 1
            verdict = (
                "abort"
                if self.consecutive_errors > self.spec.consecutive_error_limit
                else "continue"
            )
            return RunResult(self.run_no, verdict, "error", "; ".join(errors), measurements)
        self.consecutive_errors = 0
        if breaching:
            summary = "; ".join(f"{name} {text}" for name, text in breaching.items())
            return RunResult(self.run_no, "continue", "breach", summary, measurements)
        unsure = [r for r in results if r.status == "inconclusive"]
        if unsure:
            self.inconclusives += 1
            verdict = (
                "inconclusive"
                if self.inconclusives > self.spec.inconclusive_limit
                else ("continue")
            )
            summary = "; ".join(f"{r.metric}: {r.detail}" for r in unsure)
            return RunResult(self.run_no, verdict, "inconclusive", summary, measurements)
        summary = "; ".join(f"{r.metric} {r.detail}" for r in results)
        return RunResult(self.run_no, "continue", "pass", summary, measurements)

    def _measure(self, window: Window) -> tuple[list[MetricResult], list[str]]:
        """Each metric measured on both sides and judged; what could not be measured."""
        results: list[MetricResult] = []
        errors: list[str] = []
        for metric in self.spec.metrics:
            provider = self._providers.get(metric.provider)
            base_provider = self._baseline_providers.get(metric.provider)
            if provider is None or (self.baseline is not None and base_provider is None):
                errors.append(f"{metric.name}: no {metric.provider} provider here")
                continue
            try:
                canary = provider.measure(metric, self.canary, window)
                baseline = (
                    base_provider.measure(metric, self.baseline, window)
                    if self.baseline is not None and base_provider is not None
                    else None
                )
            except SlipwayError as exc:
                errors.append(f"{metric.name}: {exc}")
                continue
            results.append(self.judge.judge(metric, canary, baseline, run_no=self.run_no))
        return results, errors

    def _streaks(
        self, results: Sequence[MetricResult], *, since: float, now: float
    ) -> dict[str, str]:
        """The failing metrics whose ``for_s`` has not elapsed yet, with how long they have
        failed; a metric that did not fail ends its streak."""
        lasting = {m.name: m.for_s for m in self.spec.metrics if m.for_s > 0}
        breaching: dict[str, str] = {}
        for result in results:
            if result.metric not in lasting:
                continue
            if result.status != "fail":
                self._failing_since.pop(result.metric, None)
                continue
            began = self._failing_since.setdefault(result.metric, since)
            lasted = now - began
            if lasted < lasting[result.metric]:
                breaching[result.metric] = (
                    f"{result.detail}, for {lasted:.0f}s of {lasting[result.metric]:g}s"
                )
        return breaching
