"""The engine's own cost per persisted step: a plan of N steps whose actions do nothing.

Every step is written ``running`` before its action and ``succeeded`` after it, and the runner
listens for signals between groups: that bookkeeping is what a deployment pays beyond its real
work. The actions here are empty on purpose — what is measured is the runner and the store
(SQLite in WAL mode, in a temporary state directory), nothing else. Prints JSON::

    {"store": "sqlite", "steps": N, "per_step_ms": x, "total_s": x}

Usage: ``python bench/engine.py [--quick] [--steps N]`` (target: per_step_ms ≤ 2).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from slipway.actions.signals import Waiter
from slipway.clock import SystemClock
from slipway.engine.execution import Execution, persist
from slipway.observe import NullObserver
from slipway.steps import OfSlot, Step
from slipway.store import Store


class NoActions:
    """Actions that do nothing: the step's bookkeeping alone is measured."""

    def run(self, kind: str, stored: Any, *, started: datetime) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


def measure(steps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="slipway-bench-engine-") as tmp:
        store = Store.for_state_dir(Path(tmp))
        try:
            dep = store.new_deployment_id()
            store.create_deployment(
                deployment_id=dep, app="bench", environment="bench", kind="deploy",
                version="v1", previous_version=None, strategy="rolling",
            )  # fmt: skip
            plan = [Step("enable_instance", OfSlot(f"s{i}"), f"step {i}", i) for i in range(steps)]
            persist(store, dep, plan, phase="deploy", first_seq=0)
            records = store.steps(dep)
            stop = threading.Event()
            execution = Execution(
                store=store, clock=SystemClock(), observer=NullObserver(), stop=stop,
                hosts=None, event=lambda *a, **k: None, parallel=1,
            )  # fmt: skip
            waiter = Waiter(store, dep, should_stop=stop.is_set)
            began = time.perf_counter()
            execution.run(NoActions(), records, waiter=waiter, listen=True)  # type: ignore[arg-type]
            took = time.perf_counter() - began
        finally:
            store.close()
    return {
        "store": "sqlite",
        "steps": steps,
        "per_step_ms": round(took / steps * 1000, 3),
        "total_s": round(took, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 steps instead of 2000")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    steps = args.steps or (200 if args.quick else 2000)
    print(json.dumps(measure(steps)))


if __name__ == "__main__":
    main()
