"""Benchmark: how often each judge aborts a good release, and how fast it aborts a release
with ~2 % errors — over thousands of generated canaries, judged by the real ``Analysis``.

``bench/detection.py`` runs real canaries behind HAProxy, a few per fault: one run per fault
says little about a rate (2 % of 50 requests is one error per look, give or take Poisson).
This bench generates the measurement series instead and runs each judge on many of them, in
process, on a manual clock — the same ``Analysis`` (its ``min_requests``, its cumulative or
per-run windows, its counting of failures) and the same default rules as a deployment:

- traffic as in ``bench/detection.py``: ``RATE`` requests/s, the canary at ``WEIGHT`` %, one
  look every ``INTERVAL_S``; per look the canary gets Poisson(RATE·WEIGHT·INTERVAL) requests
  and the baseline the rest;
- each request fails with its side's error rate; its latency is drawn from one distribution
  for both sides (a lognormal around 3 ms with a 2 % tail of 20 to 60 ms: the stalls of a busy
  2-core machine, what made latency rules cry wolf), or ``--latencies FILE`` (a JSON list of
  recorded latencies in ms, e.g. from a request log) resampled;
- *good*: both sides at the same error rate ``p0`` (0, 0.1 %, 0.5 %), judged for ``LOOKS``
  looks; ``false_abort_rate`` is the share aborted, with a 95 % Wilson interval;
- *bad*: the canary at ``p0 + 2 %`` (and ``+ 5 %``); ``within_2_looks`` is the share aborted by
  the second look, ``median_looks`` the median look of the abort.

``bound_within_2_looks`` is what no test can beat at this traffic: under "no difference",
every error lands on the canary with probability ``q`` (its share of the requests), whatever
the error rate, so ``k`` errors all on the canary are evidence ``1/q^k`` at best and a test
with a false-abort rate ``alpha`` per metric needs ``k ≥ log(1/alpha) / log(1/q)`` of them;
the bound is the chance that a 2 % canary has made that many errors by the second look.

Prints ``{"settings": {...}, "good": [...], "bad": [...]}``. ``--quick``: fewer canaries.

``--record FILE`` records real latencies for ``--latencies``: the sample app's good release
under ``RATE`` requests/s on loopback for ``--record-s`` seconds, on this machine as busy as
it is (client-side latencies of the successful requests, in ms).

Run: ``.venv/bin/python bench/judges.py [--quick] [--runs N] [--latencies FILE]``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.conftest: the sample app the tests start

from tests.conftest import free_port_range, start_sample_app  # noqa: E402

from slipway.analysis import Analysis, Sample, Side, Window  # noqa: E402
from slipway.clock import ManualClock  # noqa: E402
from slipway.demo.traffic import TrafficGenerator  # noqa: E402
from slipway.spec.analysis import AnalysisSpec, MetricSpec  # noqa: E402

RATE = 250.0
WEIGHT = 10
INTERVAL_S = 2.0
LOOKS = 10  # 20 s of analysis: the figures of a longer one are in the README
JUDGES = ("threshold", "statistical", "sequential")
GOOD_RATES = (0.0, 0.001, 0.005)
FAULTS = (0.02, 0.05)
CANARY = Side("v2", ("web-1_b",))
BASELINE = Side("v1", ("web-1_a",))


class Latencies:
    """Where request latencies come from: recorded ones resampled, or the generated mix."""

    def __init__(self, recorded: Sequence[float] | None, rng: random.Random) -> None:
        self._recorded = list(recorded or [])
        self._rng = rng

    def draw(self, n: int) -> list[float]:
        if self._recorded:
            return self._rng.choices(self._recorded, k=n)
        rng = self._rng
        return [
            rng.uniform(20, 60) if rng.random() < 0.02 else rng.lognormvariate(math.log(3), 0.4)
            for _ in range(n)
        ]


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method, split for large means (exp(-mean) underflows past ~700)."""
    total = 0
    while mean > 0:
        part = min(mean, 500.0)
        mean -= part
        limit, k, p = math.exp(-part), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                break
            k += 1
        total += k
    return total


def binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(1 for _ in range(n) if rng.random() < p) if p > 0 else 0


class Series:
    """A generated canary: per look, each side's sample; measured over any window of looks."""

    def __init__(
        self,
        rng: random.Random,
        latencies: Latencies,
        *,
        canary_p: float,
        base_p: float,
        looks: int,
    ) -> None:
        per_look = RATE * INTERVAL_S
        self.looks: list[tuple[Sample, Sample]] = []
        for _ in range(looks):
            n_c = poisson(rng, per_look * WEIGHT / 100)
            n_b = poisson(rng, per_look * (100 - WEIGHT) / 100)
            self.looks.append(
                (
                    Sample(n_c, binomial(rng, n_c, canary_p), tuple(latencies.draw(n_c))),
                    Sample(n_b, binomial(rng, n_b, base_p), tuple(latencies.draw(n_b))),
                )
            )

    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        first = round(window.start / INTERVAL_S)
        last = round(window.end / INTERVAL_S)
        picked = [look[0 if side is CANARY else 1] for look in self.looks[first:last]]
        return Sample(
            requests=sum(s.requests for s in picked),
            errors=sum(s.errors for s in picked),
            latencies_ms=tuple(v for s in picked for v in s.latencies_ms),
        )


def judged(series: Series, judge: str) -> tuple[int | None, str]:
    """The look at which the analysis aborted (None: it never did) and what fired."""
    clock = ManualClock()
    spec = AnalysisSpec(interval_s=INTERVAL_S, judge=judge, inconclusive_limit=1000)
    analysis = Analysis(
        spec, canary=CANARY, baseline=BASELINE, providers={"haproxy": series}, clock=clock
    )
    for look in range(1, len(series.looks) + 1):
        clock.sleep(INTERVAL_S)
        result = analysis.run()
        if result.verdict == "abort":
            fired = [m["metric"] for m in result.measurements if m.get("status") == "fail"]
            return look, ",".join(fired)
    return None, ""


def wilson(hits: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    z = 1.96
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def bound_within_2_looks(fault: float, *, alpha: float) -> dict[str, float]:
    q = WEIGHT / 100
    k = math.ceil(math.log(1 / alpha) / math.log(1 / q))
    mean = 2 * RATE * INTERVAL_S * WEIGHT / 100 * fault
    below = sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k))
    return {"errors_needed": k, "expected_errors": round(mean, 2), "bound": round(1 - below, 3)}


def run(
    runs: int,
    latencies: Latencies,
    rng: random.Random,
    *,
    judges: Sequence[str] = JUDGES,
    looks: int = LOOKS,
) -> dict[str, Any]:
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for p0 in GOOD_RATES:
        series = [Series(rng, latencies, canary_p=p0, base_p=p0, looks=looks) for _ in range(runs)]
        for judge in judges:
            started = time.perf_counter()
            outcomes = [judged(s, judge) for s in series]
            aborted = [fired for look, fired in outcomes if look is not None]
            by_metric: dict[str, int] = {}
            for fired in aborted:
                by_metric[fired] = by_metric.get(fired, 0) + 1
            good.append(
                {
                    "judge": judge,
                    "error_rate": p0,
                    "runs": runs,
                    "looks": looks,
                    "false_aborts": len(aborted),
                    "false_abort_rate": round(len(aborted) / runs, 4),
                    "ci95": wilson(len(aborted), runs),
                    "by_metric": by_metric,
                    "s": round(time.perf_counter() - started, 1),
                }
            )
        for fault in FAULTS:
            series = [
                Series(rng, latencies, canary_p=p0 + fault, base_p=p0, looks=looks)
                for _ in range(runs)
            ]
            for judge in judges:
                ends = [judged(s, judge)[0] for s in series]
                found = sorted(look for look in ends if look is not None)
                bad.append(
                    {
                        "judge": judge,
                        "baseline_error_rate": p0,
                        "canary_error_rate": round(p0 + fault, 4),
                        "runs": runs,
                        "within_1_look": round(sum(1 for x in found if x <= 1) / runs, 3),
                        "within_2_looks": round(sum(1 for x in found if x <= 2) / runs, 3),
                        "aborted": round(len(found) / runs, 3),
                        "median_looks": statistics.median(found) if found else None,
                    }
                )
    return {"good": good, "bad": bad}


def record(path: Path, seconds: float) -> None:
    """Real latencies: the sample app's good release under ``RATE`` requests/s on loopback,
    on this machine as busy as it is, written to ``path`` (ms, successful requests)."""
    import tempfile

    port = free_port_range(1)
    with tempfile.TemporaryDirectory(prefix="slipway-judges-") as tmp:
        app = start_sample_app(Path(tmp) / "v1", "v1", port)
        try:
            with TrafficGenerator(
                f"http://127.0.0.1:{port}/work",
                concurrency=8,
                rate_per_s=RATE,
                max_duration_s=seconds,
                max_requests=10_000_000,
            ) as traffic:
                time.sleep(seconds)
        finally:
            app.kill()
            app.wait()
    kept = [round(s.latency_s * 1000, 3) for s in traffic.report.samples if s.status == 200]
    path.write_text(json.dumps(kept))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--latencies", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--judges", default=",".join(JUDGES))
    parser.add_argument("--looks", type=int, default=LOOKS)
    parser.add_argument("--record", type=Path, default=None, help="record latencies there")
    parser.add_argument("--record-s", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.record is not None:
        record(args.record, args.record_s)
        return
    runs = args.runs or (150 if args.quick else 1000)
    judges = tuple(args.judges.split(","))
    rng = random.Random(args.seed)
    recorded = json.loads(args.latencies.read_text()) if args.latencies else None
    started = time.perf_counter()
    result = run(runs, Latencies(recorded, rng), rng, judges=judges, looks=args.looks)
    alpha = (1 - AnalysisSpec().confidence) / len(AnalysisSpec().metrics)
    report = {
        "settings": {
            "rate_per_s": RATE,
            "weight_pct": WEIGHT,
            "interval_s": INTERVAL_S,
            "looks": args.looks,
            "runs": runs,
            "latencies": str(args.latencies) if args.latencies else "generated",
            "seed": args.seed,
        },
        "bound_within_2_looks": {
            f"{fault:g}": bound_within_2_looks(fault, alpha=alpha) for fault in FAULTS
        },
        **result,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    json.dump(report, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
