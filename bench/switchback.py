"""Benchmark: `slipway rollback` during a blue-green's scale-down delay, from the command line.

One environment of the sample app (3 instances behind HAProxy) with the blue-green strategy
and a 60 s scale-down delay. Under steady traffic through HAProxy, v2 is deployed (in this
process, as a runner would be); once it has switched and holds v1 on standby, the benchmark
runs ``slipway rollback`` as a separate command, as a person would from another terminal:

- ``switch_s``: from starting the command to the last request that v2 answered (after it,
  every request was answered by v1) — the issue's "from command to all traffic on the old
  set";
- ``command_s``: until the command exited (it waits for the runner to finish the rollback:
  v2 drained and stopped);
- ``failed_requests``: over the whole run.

The full run repeats this 5 times and reports medians; ``--quick`` does 2.
Run: ``.venv/bin/python bench/switchback.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.sample import write_sample_spec

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine, Outcome, control
from slipway.spec import load_spec
from slipway.store import Store

STRATEGY = "{type: blue-green, smoke: [{path: /health}], scale_down_delay_s: 60}"
RATE = 200.0


def one_run(engine: Engine, store: Store, spec: Path, url: str) -> dict[str, Any]:
    outcomes: list[Outcome] = []
    with TrafficGenerator(url, concurrency=4, rate_per_s=RATE, max_duration_s=120) as traffic:
        runner = threading.Thread(target=lambda: outcomes.append(engine.deploy("v2")))
        runner.start()
        control.wait_for_step(engine.env, store, "hold", clock=engine.clock, timeout_s=60)
        time.sleep(1)
        asked = time.monotonic()
        command = subprocess.run(
            [sys.executable, "-m", "slipway", "rollback", "-f", str(spec)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        done = time.monotonic()
        runner.join(timeout=120)
        time.sleep(0.5)
    if command.returncode != 0:
        raise RuntimeError(f"slipway rollback failed: {command.stdout}{command.stderr}")
    report = traffic.report
    last_v2 = max(s.sent for s in report.samples if s.version == "v2")
    return {
        "switch_s": round(max(0.0, last_v2 - asked), 3),
        "command_s": round(done - asked, 3),
        "failed_requests": report.failed,
        "requests": report.requests,
        "deploy_status": outcomes[0].deployment.status if outcomes else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 runs instead of 5")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="slipway-switchback-") as tmp:
        spec = write_sample_spec(Path(tmp), strategy=STRATEGY)
        env = load_spec(spec).environment("test")
        backends = Backends.for_environment(env, clock=SystemClock())
        store = Store.for_state_dir(env.state_dir.parent)
        engine = Engine(env, store=store, backends=backends)
        url = f"http://127.0.0.1:{env.router.listen.port}/work"
        try:
            assert engine.deploy("v1").deployment.status == "succeeded"
            for _ in range(2 if args.quick else 5):
                runs.append(one_run(engine, store, spec, url))
                print(json.dumps(runs[-1]), file=sys.stderr)
        finally:
            backends.router.down()
            backends.target.down()
            store.close()
    print(
        json.dumps(
            {
                "runs": runs,
                "median_switch_s": statistics.median(r["switch_s"] for r in runs),
                "max_switch_s": max(r["switch_s"] for r in runs),
                "median_command_s": statistics.median(r["command_s"] for r in runs),
                "failed_requests": sum(r["failed_requests"] for r in runs),
                "target_switch_under_1s": all(r["switch_s"] < 1.0 for r in runs),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
