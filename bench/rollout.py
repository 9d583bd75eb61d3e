"""Benchmark: a rolling v1→v2 deployment and a rollback, under steady load through HAProxy.

Prints JSON: ``{"requests", "failed_requests", "deploy_s", "rollback_s", ...}``.

Each run starts a fresh environment of the sample app (3 instances behind
HAProxy, under supervisord) in a temporary directory on free loopback ports,
deploys v1, then — with the traffic generator sending requests through HAProxy
all along — rolls to v2 (``deploy_s``: the deployment's own duration) and
tries v5, whose third instance fails its health check after two instances
already serve v5 (``rollback_s``: from the failure being detected to traffic
fully back on v2, with v2 instances started again and healthy and the v5 ones
stopped, as the engine records it), then v3, which fails on its first
instance (``early_rollback_s``). Traffic continues until at least
``min_requests`` were sent. The full run repeats this 3 times and reports
medians (requests and failures are summed); ``--quick`` does one run.

Run: ``.venv/bin/python bench/rollout.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.sample import write_sample_spec

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store


def one_run(workdir: Path, *, min_requests: int, concurrency: int) -> dict[str, Any]:
    spec = write_sample_spec(workdir, app="bench", environment="bench", interval_s=0.2)
    env = load_spec(spec).environment("bench")
    clock = SystemClock()
    backends = Backends.for_environment(env, clock=clock)
    store = Store.for_state_dir(env.state_dir.parent)
    engine = Engine(env, store=store, backends=backends, clock=clock)
    try:
        first = engine.deploy("v1")
        assert first.deployment.status == "succeeded", first.deployment.reason
        url = f"http://127.0.0.1:{env.router.listen.port}/work"
        with TrafficGenerator(
            url, concurrency=concurrency, max_requests=10 * min_requests, max_duration_s=150
        ) as traffic:
            time.sleep(0.5)
            rolled = engine.deploy("v2").deployment
            time.sleep(0.5)
            # v5 fails only on its third instance: two instances already moved to it must come
            # back to v2 (started again in their old slots) — the expensive rollback
            rejected = engine.deploy("v5").deployment
            time.sleep(0.5)
            early = engine.deploy("v3").deployment  # fails on its first instance
            deadline = time.monotonic() + 60
            while traffic.requests_so_far() < min_requests and time.monotonic() < deadline:
                time.sleep(0.1)
        report = traffic.report
        return {
            "requests": report.requests,
            "failed_requests": report.failed,
            "deploy_s": _duration(rolled.started_at, rolled.ended_at),
            "deploy_outcome": rolled.status,
            "rollback_s": rejected.rollback_s,
            "rollback_outcome": rejected.status,
            "early_rollback_s": early.rollback_s,
            "early_rollback_outcome": early.status,
            "served_at_end": sorted(report.versions_after(time.monotonic() - 0.5)),
            "errors": report.errors[:5],
        }
    finally:
        store.close()
        _stop(env.state_dir / "run", backends)


def _duration(start: str, end: str | None) -> float | None:
    from slipway.reports import seconds_between

    return seconds_between(start, end)


def _stop(run_dir: Path, backends: Backends) -> None:
    try:
        backends.target.down()
    except Exception:
        pidfile = run_dir / "supervisord.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one smaller run (< 3 minutes)")
    args = parser.parse_args()
    runs_n = 1 if args.quick else 3
    min_requests = 5_000 if args.quick else 8_000
    runs = []
    for _ in range(runs_n):
        with tempfile.TemporaryDirectory(prefix="slipway-bench-") as tmp:
            runs.append(one_run(Path(tmp), min_requests=min_requests, concurrency=4))
    rollbacks = [r["rollback_s"] for r in runs if r["rollback_s"] is not None]
    result = {
        "requests": sum(r["requests"] for r in runs),
        "failed_requests": sum(r["failed_requests"] for r in runs),
        "deploy_s": statistics.median(r["deploy_s"] for r in runs),
        "rollback_s": statistics.median(rollbacks) if rollbacks else None,
        "early_rollback_s": statistics.median(
            r["early_rollback_s"] for r in runs if r["early_rollback_s"] is not None
        ),
        "runs": runs,
        "quick": args.quick,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
