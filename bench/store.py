"""The store's costs: engine overhead per persisted step, lease renewal, lock hand-off.

    .venv/bin/python bench/store.py [--quick]

prints ``{"sqlite": {"per_step_ms"}, "postgresql": {"per_step_ms"}, "lease_renew_ms",
"lock_handoff_ms": {"median", "p99"}}``:

- ``per_step_ms``: the engine's own path for one step of no-op action — the lease's check, the
  fenced ``running`` transition, the action, the fenced ``succeeded`` transition
  (``engine/execution.py``, unchanged) — on SQLite in a state directory and on a real
  PostgreSQL over loopback (the test kit's cluster, fsync off as in the tests: this measures
  Slipway, not a disk);
- ``lease_renew_ms``: one renewal of a lease on PostgreSQL;
- ``lock_handoff_ms``: 20 runners (threads, each its own store connections) contending for 5
  environments on PostgreSQL through the waiting queue (``--lock-wait``): from a holder's
  release to the next waiter holding the lock.

Targets: ≤ 2 ms per step on SQLite, ≤ 5 ms on PostgreSQL.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from slipway.clock import SystemClock
from slipway.engine.execution import Execution
from slipway.engine.lease import Lease
from slipway.engine.locking import Claim, LockWait, take
from slipway.observe import NullObserver
from slipway.spec.environment import Environment
from slipway.store import Store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.postgres: the same PostgreSQL cluster the tests start

from tests.support.postgres import PostgresCluster  # noqa: E402


class NoOp:
    def run(self, kind: str, params: Any, *, started: Any) -> dict[str, Any]:
        return {}


def per_step_ms(store: Store, steps: int) -> float:
    clock = SystemClock()
    dep = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep, app="bench", environment="e", kind="deploy", version="v1",
        previous_version=None, strategy="rolling",
    )  # fmt: skip
    store.add_steps(
        dep,
        [
            {"seq": i, "phase": "deploy", "group_no": i, "kind": "enable_instance",
             "params": {"slot": f"web-{i}_a"}, "description": f"step {i}"}
            for i in range(steps)
        ],
    )  # fmt: skip
    fence = store.acquire_lock("bench", "e", deployment_id=dep, ttl_s=30)
    fenced = store.fenced(fence)
    with Lease(store, fence, clock=clock, ttl_s=30) as lease:
        execution = Execution(
            store=fenced, clock=clock, observer=NullObserver(), stop=threading.Event(),
            hosts=None, event=lambda *a, **k: None, parallel=1, before_step=lease.check,
        )  # fmt: skip
        records = fenced.steps(dep)
        start = time.perf_counter()
        for record in records:
            execution.run_step(NoOp(), record)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
    return round(elapsed / steps * 1000, 3)


def lease_renew_ms(store: Store, rounds: int) -> float:
    fence = store.acquire_lock("bench", "renew", deployment_id="r", ttl_s=30)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        assert store.renew_lock("bench", "renew", ttl_s=30, token=fence.token, holder=fence.holder)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 3)


def _env(name: str) -> Environment:
    return Environment.model_construct(app="bench", name=name)


def lock_handoff_ms(url: str, *, runners: int, environments: int, rounds: int) -> dict[str, float]:
    released: dict[str, float] = {}
    handoffs: list[float] = []
    guard = threading.Lock()
    start = threading.Barrier(runners)

    def runner(n: int) -> None:
        store = Store.open(url)
        env = _env(f"env{n % environments}")
        try:
            start.wait()
            for r in range(rounds):
                claim = Claim(f"d{n}-{r}", 30, holder=f"bench-{n}:{r}", version=f"v{n}.{r}")
                fence = take(env, store, claim, wait=LockWait(600), clock=SystemClock(),
                             say=lambda _text: None)  # fmt: skip
                got = time.monotonic()
                with guard:
                    if env.name in released:
                        handoffs.append(got - released.pop(env.name))
                time.sleep(0.02)  # the deployment
                with guard:
                    released[env.name] = time.monotonic()
                store.release_lock(env.app, env.name, token=fence.token, holder=fence.holder)
        finally:
            store.close()

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(runners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ordered = sorted(handoffs)
    return {
        "median": round(statistics.median(ordered) * 1000, 1),
        "p99": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 1),
        "handoffs": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    steps, rounds = (100, 2) if quick else (500, 5)
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="slipway-bench-store-") as tmp:
        sqlite = Store.for_state_dir(Path(tmp) / "state")
        result["sqlite"] = {"per_step_ms": per_step_ms(sqlite, steps)}
        sqlite.close()
    cluster = PostgresCluster()
    try:
        cluster.start()
        cluster.create_database("bench")
        url = cluster.url("bench")
        pg = Store.open(url)
        result["postgresql"] = {"per_step_ms": per_step_ms(pg, steps)}
        result["lease_renew_ms"] = lease_renew_ms(pg, steps)
        pg.close()
        result["lock_handoff_ms"] = lock_handoff_ms(url, runners=20, environments=5, rounds=rounds)
    finally:
        cluster.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
