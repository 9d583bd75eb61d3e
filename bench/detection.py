"""Benchmark: how fast canary analysis stops a bad release, what it costs users, and how often
it stops a good one.

One environment of the sample app (3 instances behind HAProxy, under supervisord) on free
loopback ports. For each judge (threshold, statistical) and each injected fault —
``errors_2pct``, ``errors_5pct``, ``errors_20pct`` (5xx on that share of requests),
``latency_100ms``, ``latency_300ms`` (added to every request), ``crash`` (exits 2 s after it
started) — a canary at 10 % weight with background analysis every ``INTERVAL_S``, under
steady load through HAProxy (``RATE`` requests/s from the built-in traffic generator):

- ``time_to_abort_s``: from the canary's first share of traffic (its first router switch)
  to the analysis' abort (the rollback's start), as the store records them;
- ``failed_requests``: user requests that failed during the run (the stable release is good,
  so these are the canary's);
- ``vs_full_rollout``: failed requests during the canary's exposure, divided by what the same
  release would have failed serving all of that traffic (its own error rate, measured on the
  requests it answered, times the requests sent meanwhile) — the canary's blast radius.

False aborts. Good releases (``none``: fresh ``v<n>`` builds, no fault) run as real
canaries for ``GOOD_LOOKS`` analysis runs each (20 per judge; ``--quick``: 2), and their
real abort rate is reported as ``false_abort_real``. Twenty canaries cannot resolve a rate
of a few percent, so ``false_abort_rate`` comes from replay: every request of those good
canaries, as HAProxy logged it (the same records the live analysis reads: the benchmark
keeps its own listener on the request log and lends it to the engine), canary and baseline
kept apart, is resampled into ``REPLAYS`` simulated canaries of the same length and size,
and each judge judges every look of each, as it would live. ``false_abort_by_metric`` says
which rule fired.

Flag rollouts (``--strategies flag``): the same faults behind the feature flag
``new-checkout`` (``flag_errors_2pct`` …: the release's code path for users with the flag on),
the flag on for 10 % of 10,000 users, served by ``slipway flags serve``; the analysis
compares requests of users with the flag on against those with it off. ``crash`` is not a
flag fault (a crash takes every user down) and is left out. Every run says its ``strategy``.

``--contended``: a busy loop occupies one core for the whole run (the good canaries of a
busy machine: where relative rules on tiny baselines cried wolf). ``--judges`` picks the
judges (threshold, statistical, sequential).

Prints ``{"runs": [...], "false_abort_rate": {...}, ...}``. ``--quick`` runs the same faults
with fewer good canaries.

Run: ``.venv/bin/python bench/detection.py [--quick] [--strategies canary,flag]
[--judges threshold,statistical,sequential] [--contended]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.sample: the sample spec the tests use

from bench.good_canaries import Pools, percentiles, replay  # noqa: E402
from tests.support.sample import free_port_range, write_sample_spec  # noqa: E402

from slipway.analysis import Window  # noqa: E402
from slipway.backends import Backends  # noqa: E402
from slipway.backends.local import request_log  # noqa: E402
from slipway.clock import SystemClock  # noqa: E402
from slipway.demo.traffic import Sample as Request  # noqa: E402
from slipway.demo.traffic import TrafficGenerator  # noqa: E402
from slipway.engine import Engine  # noqa: E402
from slipway.spec import load_spec  # noqa: E402
from slipway.spec.analysis import AnalysisSpec  # noqa: E402
from slipway.spec.strategy import CanarySpec, CanaryStep, FlagSpec, PauseSpec  # noqa: E402
from slipway.store import Deployment, Store  # noqa: E402

FAULTS = ["errors_2pct", "errors_5pct", "errors_20pct", "latency_100ms", "latency_300ms", "crash"]
FLAG_FAULTS = [f"flag_{f}" for f in FAULTS if f != "crash"]
JUDGES = ["threshold", "statistical", "sequential"]
STRATEGIES = ["canary", "flag"]
FLAG = "new-checkout"
USERS = 10_000
RATE = 250.0
CONCURRENCY = 8
INTERVAL_S = 2.0
WEIGHT = 10
FAULT_PAUSE_S = 60.0
GOOD_LOOKS = 6
REPLAYS = 400


def analysis(judge: str) -> AnalysisSpec:
    # the spec's defaults (the seeds' rules: error rate > 1 %, p95 > 2 x baseline), this judge
    return AnalysisSpec(interval_s=INTERVAL_S, judge=judge, inconclusive_limit=1000)


def strategy(judge: str, pause_s: float, kind: str = "canary") -> CanarySpec | FlagSpec:
    steps = [CanaryStep(set_weight=WEIGHT), CanaryStep(pause=PauseSpec(duration_s=pause_s))]
    if kind == "flag":
        return FlagSpec(type="flag", flag=FLAG, steps=steps, analysis=analysis(judge))
    return CanarySpec(type="canary", steps=steps, analysis=analysis(judge))


class Bench:
    def __init__(self, workdir: Path) -> None:
        flags = free_port_range(1)
        spec = write_sample_spec(
            workdir,
            app="bench",
            environment="bench",
            interval_s=0.2,
            extra=f"    flags: {{listen: 127.0.0.1:{flags}}}\n",
            process_env={"OFREP_URL": f"http://127.0.0.1:{flags}"},
        )
        self.spec_file = spec
        self.flag_server: subprocess.Popen[bytes] | None = None
        self.env = load_spec(spec).environment("bench")
        self.clock = SystemClock()
        self.backends = Backends.for_environment(self.env, clock=self.clock)
        self.store = Store.for_state_dir(self.env.state_dir.parent)
        self.url = f"http://127.0.0.1:{self.env.router.listen.port}/work"
        self.stable = "v1"
        self.next_good = 10
        self.pools: dict[str, Pools] = {}  # by strategy
        self.log = request_log(self.env, self.backends.router)
        # wall-clock (store) to monotonic (traffic) time
        self.offset = time.time() - time.monotonic()

    def start(self) -> None:
        self.log.start()
        self.flag_server = subprocess.Popen(
            [sys.executable, "-m", "slipway", "flags", "serve", "-f", str(self.spec_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        first = Engine(self.env, store=self.store, backends=self.backends).deploy(self.stable)
        assert first.deployment.status == "succeeded", first.deployment.reason

    def close(self) -> None:
        if self.flag_server is not None:
            self.flag_server.terminate()
            self.flag_server.wait(timeout=20)
        self.log.stop()
        self.backends.router.down()
        self.backends.target.down()
        self.store.close()

    def monotonic(self, iso: str) -> float:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() - self.offset

    def canary(
        self, version: str, judge: str, pause_s: float, kind: str = "canary"
    ) -> tuple[Deployment, list[Request]]:
        env = self.env.model_copy(update={"strategy": strategy(judge, pause_s, kind)})
        engine = Engine(
            env, store=self.store, backends=self.backends, clock=self.clock, request_log=self.log
        )
        with TrafficGenerator(
            self.url,
            concurrency=CONCURRENCY,
            rate_per_s=RATE,
            max_duration_s=pause_s + 120,
            max_requests=10_000_000,
            users=USERS,
        ) as traffic:
            time.sleep(0.5)
            outcome = engine.deploy(version)
            time.sleep(0.5)
        dep = outcome.deployment
        if dep.status == "succeeded":
            self.stable = version
        return dep, traffic.report.samples

    def exposure(self, dep: Deployment) -> tuple[float, float]:
        """From the canary's first share of traffic to the end of its deployment."""
        steps = self.store.steps(dep.id)
        first = next(
            s
            for s in steps
            if s.started_at
            and (
                s.kind == "switch_traffic"
                or (s.kind == "set_flag" and int(s.params.get("weight", 0)) > 0)
            )
        )
        assert first.started_at is not None and dep.ended_at is not None
        return self.monotonic(first.started_at), self.monotonic(dep.ended_at)

    def fault_run(self, fault: str, judge: str, kind: str = "canary") -> dict[str, Any]:
        dep, requests = self.canary(fault, judge, FAULT_PAUSE_S, kind)
        start, end = self.exposure(dep)
        aborted = dep.status in ("rolled_back", "aborted")
        during = [r for r in requests if start <= r.sent < end]
        failed_during = sum(r.failed for r in during)
        if kind == "flag":  # the new code path: requests of users with the flag on
            own = [r for r in requests if r.variant == f"{FLAG}=on"]
        else:
            own = [r for r in requests if r.version == fault]
        own_rate = sum(r.failed for r in own) / len(own) if own else 0.0
        full = len(during) * own_rate
        return {
            "fault": fault.removeprefix("flag_"),
            "strategy": kind,
            "judge": judge,
            "aborted": aborted,
            "time_to_abort_s": (
                round(self.monotonic(dep.rollback_started_at) - start, 3)
                if aborted and dep.rollback_started_at
                else None
            ),
            "analysis_interval_s": INTERVAL_S,
            "failed_requests": sum(r.failed for r in requests),
            "requests": len(requests),
            "canary_requests": len(own),
            "canary_error_rate": round(own_rate, 4),
            "vs_full_rollout": round(failed_during / full, 3) if full else None,
            "reason": dep.reason,
        }

    def _outcomes(self, side: dict[str, Any], window: Window) -> list[tuple[bool, float]]:
        variant = f"{side['flag']}={side['variant']}" if side.get("variant") else None
        return [
            (r.status >= 500 or r.status < 0, r.active_ms)
            for r in self.log.records(tuple(side["slots"]), window)
            if variant is None or r.variant == variant
        ]

    def good_run(self, judge: str, kind: str = "canary") -> dict[str, Any]:
        if kind == "flag":  # the same good release each time: only the flag moves
            version = "flag_good"
        else:
            version = f"v{self.next_good}"
            self.next_good += 1
        dep, requests = self.canary(version, judge, GOOD_LOOKS * INTERVAL_S + 0.5, kind)
        start, end = self.exposure(dep)
        looks = [r for r in self.store.analysis_runs(dep.id) if r.analysis == "background"]
        pause = next(s for s in self.store.steps(dep.id) if s.kind == "pause")
        # what the analysis saw: up to the end of the pause, not the promotion after it (all
        # traffic to the canary while the stable set drains: neither side's normal latency)
        if pause.ended_at is not None:
            end = min(end, self.monotonic(pause.ended_at))
        window = Window(start, end)
        canary = self._outcomes(pause.params["canary"], window)
        base = self._outcomes(pause.params["baseline"], window)
        pools = self.pools.setdefault(kind, Pools())
        pools.canary += canary
        pools.baseline += base
        if looks:
            pools.canary_per_look.append(len(canary) // len(looks))
            pools.baseline_per_look.append(len(base) // len(looks))
        aborted = dep.status in ("rolled_back", "aborted")
        return {
            "fault": "none",
            "strategy": kind,
            "judge": judge,
            "aborted": aborted,
            "time_to_abort_s": None,
            "analysis_interval_s": INTERVAL_S,
            "failed_requests": sum(r.failed for r in requests),
            "requests": len(requests),
            "looks": len(looks),
            "reason": dep.reason if aborted else None,
        }


def busy_core() -> subprocess.Popen[bytes]:
    """A busy loop on one core for as long as it runs (stopped by its PID)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 good canaries per judge")
    parser.add_argument("--judges", default=",".join(JUDGES))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--contended", action="store_true", help="keep one core busy")
    args = parser.parse_args()
    args.began = time.monotonic()
    judges = args.judges.split(",")
    kinds = args.strategies.split(",")
    good_per_judge = 2 if args.quick else 20
    runs: list[dict[str, Any]] = []
    busy = busy_core() if args.contended else None
    with tempfile.TemporaryDirectory(prefix="slipway-detection-") as tmp:
        bench = Bench(Path(tmp))
        try:
            bench.start()
            for kind in kinds:
                for judge in judges:
                    for fault in FLAG_FAULTS if kind == "flag" else FAULTS:
                        runs.append(bench.fault_run(fault, judge, kind))
                        runs[-1]["contended"] = args.contended
                        print(json.dumps(runs[-1]), file=sys.stderr)
                    for _ in range(good_per_judge):
                        runs.append(bench.good_run(judge, kind))
                        runs[-1]["contended"] = args.contended
                        print(json.dumps(runs[-1]), file=sys.stderr)
        finally:
            bench.close()
            if busy is not None:
                busy.kill()
                busy.wait()
    print(json.dumps(summary(runs, bench, judges, kinds, good_per_judge, args), indent=2))


def summary(
    runs: list[dict[str, Any]],
    bench: Bench,
    judges: list[str],
    kinds: list[str],
    good_per_judge: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    pairs = [(k, j) for k in kinds for j in judges]
    real = {
        f"{k}/{j}": round(
            sum(
                r["aborted"]
                for r in runs
                if r["fault"] == "none" and r["judge"] == j and r["strategy"] == k
            )
            / good_per_judge,
            3,
        )
        for k, j in pairs
    }
    replayed = {
        f"{k}/{j}": replay(bench.pools[k], analysis(j), looks=GOOD_LOOKS, replays=REPLAYS, seed=i)
        for i, (k, j) in enumerate(pairs)
        if k in bench.pools and bench.pools[k].canary
    }
    rates = {name: round(rate, 4) for name, (rate, _) in replayed.items()}
    faults = [r for r in runs if r["fault"] != "none"]

    def within(fault: str, judge: str) -> bool:
        chosen = [r for r in faults if r["fault"] == fault and r["judge"] == judge]
        return bool(chosen) and all(
            r["time_to_abort_s"] is not None and r["time_to_abort_s"] <= 2 * INTERVAL_S + 0.5
            for r in chosen
        )

    return {
        "runs": runs,
        "false_abort_rate": rates,
        "false_abort_real": real,
        "false_abort_by_metric": {name: by for name, (_, by) in replayed.items()},
        "good_canaries_per_judge": good_per_judge,
        "replays_per_judge": REPLAYS,
        "replay_pool": {
            k: {
                "canary_requests": len(p.canary),
                "baseline_requests": len(p.baseline),
                "canary_latency_ms": percentiles(p.canary),
                "baseline_latency_ms": percentiles(p.baseline),
            }
            for k, p in bench.pools.items()
        },
        "settings": {
            "rate_per_s": RATE,
            "canary_weight_pct": WEIGHT,
            "analysis_interval_s": INTERVAL_S,
            "good_looks": GOOD_LOOKS,
            "contended": args.contended,
            "strategies": kinds,
            "judges": judges,
        },
        "targets": {
            "every_fault_aborted": all(r["aborted"] for r in faults),
            "errors_2pct_within_2_intervals": {j: within("errors_2pct", j) for j in judges},
            "errors_5pct_within_2_intervals": {j: within("errors_5pct", j) for j in judges},
            "false_abort_at_most_1pct": {n: v <= 0.01 for n, v in rates.items()},
            "failed_at_most_a_tenth_of_full_rollout": all(
                r["vs_full_rollout"] is None or r["vs_full_rollout"] <= 0.1 for r in faults
            ),
        },
        "wall_s": round(time.monotonic() - args.began, 1),
    }


if __name__ == "__main__":
    main()
