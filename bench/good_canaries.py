"""False aborts by replay: the per-request outcomes of real good canaries, resampled into
many simulated canaries of the same size, each judged look by look as it would be live
(``bench/detection.py`` keeps the pools; twenty live canaries cannot resolve a rate of a few
percent, thousands of replays can)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from slipway.analysis import Sample, make_judge
from slipway.analysis.base import percentile
from slipway.spec.analysis import AnalysisSpec


@dataclass
class Pools:
    """Per-request outcomes of good canaries: (failed, latency ms), canary and baseline apart."""

    canary: list[tuple[bool, float]] = field(default_factory=list)
    baseline: list[tuple[bool, float]] = field(default_factory=list)
    canary_per_look: list[int] = field(default_factory=list)
    baseline_per_look: list[int] = field(default_factory=list)


def percentiles(outcomes: list[tuple[bool, float]]) -> dict[str, float]:
    """p50, p95, p99 of a pool's latencies: a good canary slower than its baseline is what
    latency rules abort."""
    if not outcomes:
        return {}
    latencies = [ms for _, ms in outcomes]
    return {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)}


def replay(
    pools: Pools, spec: AnalysisSpec, *, looks: int, replays: int, seed: int
) -> tuple[float, dict[str, int]]:
    """Share of simulated good canaries, resampled from real ones, that the judge aborts
    within ``looks`` analysis runs, and how many aborts each metric caused."""
    rng = random.Random(seed)
    n_c = max(1, int(sum(pools.canary_per_look) / max(1, len(pools.canary_per_look))))
    n_b = max(1, int(sum(pools.baseline_per_look) / max(1, len(pools.baseline_per_look))))
    aborted = 0
    by_metric: dict[str, int] = {}
    for _ in range(replays):
        judge = make_judge(spec)
        canary: list[tuple[bool, float]] = []
        base: list[tuple[bool, float]] = []
        for look in range(1, looks + 1):
            new_c = rng.choices(pools.canary, k=n_c)
            new_b = rng.choices(pools.baseline, k=n_b)
            canary = canary + new_c if judge.cumulative else new_c
            base = base + new_b if judge.cumulative else new_b
            c, b = sample_of(canary), sample_of(base)
            failed = [
                m.name for m in spec.metrics if judge.judge(m, c, b, run_no=look).status == "fail"
            ]
            if failed:
                aborted += 1
                for name in failed:
                    by_metric[name] = by_metric.get(name, 0) + 1
                break
    return aborted / replays, by_metric


def sample_of(outcomes: list[tuple[bool, float]]) -> Sample:
    return Sample(
        requests=len(outcomes),
        errors=sum(1 for failed, _ in outcomes if failed),
        latencies_ms=tuple(ms for _, ms in outcomes),
    )
