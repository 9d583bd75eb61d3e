"""``slipway demo``: the whole story on this machine, measured.

Deploys release v1 of the sample app (``examples/app``) to three local
instances behind HAProxy, then, under steady traffic through HAProxy from the
built-in traffic generator, rolls to v2 and tries v3, whose instances fail
their health check and which Slipway rolls back by itself. Each phase reports
the same numbers, so later strategies add phases in the same shape.

The demo owns its state directory (``state_dir`` of the sample spec): it
stops what a previous demo left running there and starts from a clean slate.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from slipway.clock import SystemClock
from slipway.engine import Backends, Engine
from slipway.engine.report import seconds_between
from slipway.errors import UsageError
from slipway.spec import load_spec
from slipway.spec.model import Environment
from slipway.store import Store
from slipway.traffic import TrafficGenerator
from slipway.view import ProgressView

TRAFFIC_RATE_PER_S = 200.0
TRAFFIC_CONCURRENCY = 4


def default_spec() -> Path:
    return Path(__file__).resolve().parents[2] / "examples" / "slipway.yaml"


def run_demo(spec_file: Path | None, *, console: Console) -> dict[str, Any]:
    file = spec_file or default_spec()
    if not file.exists():
        raise UsageError(
            f"the sample spec {file} is missing",
            hint="run the demo from a checkout of Slipway, or pass -f examples/slipway.yaml",
        )
    env = load_spec(file).environment(None)
    clock = SystemClock()
    backends = Backends.for_environment(env, clock=clock)
    _clean_slate(env, backends)
    store = Store.for_state_dir(env.state_dir.parent)
    engine = Engine(
        env, store=store, backends=backends, clock=clock, observer=ProgressView(console)
    )
    url = f"http://{env.router.listen.host}:{env.router.listen.port}/work"
    phases = []
    try:
        console.rule("1. release v1 to 3 instances behind HAProxy")
        phases.append(_phase(engine, "v1", url=None))
        console.rule("2-3. steady traffic; rolling update to v2")
        phases.append(_phase(engine, "v2", url=url))
        console.rule("4. v3 fails its health check: Slipway rolls it back")
        phases.append(_phase(engine, "v3", url=url))
    finally:
        store.close()
    console.print(
        f"\nThe sample app is still running at {url} (release "
        f"{phases[-1]['served_at_end'] or '?'}). Try:\n"
        f"  .venv/bin/slipway status -f {file}\n"
        f"  .venv/bin/slipway history -f {file}\n"
        f"  .venv/bin/slipway down -f {file}"
    )
    return {"phases": phases}


def _clean_slate(env: Environment, backends: Backends) -> None:
    if env.state_dir.exists():
        backends.router.down()
        backends.target.down()
    shutil.rmtree(env.state_dir.parent, ignore_errors=True)


def _phase(engine: Engine, version: str, *, url: str | None) -> dict[str, Any]:
    if url is None:
        outcome = engine.deploy(version)
        requests = failed = 0
        served: list[str] = []
    else:
        with TrafficGenerator(
            url,
            concurrency=TRAFFIC_CONCURRENCY,
            rate_per_s=TRAFFIC_RATE_PER_S,
            max_duration_s=110,
        ) as traffic:
            outcome = engine.deploy(version)
            end = time.monotonic()
            time.sleep(0.5)  # let requests sent after the deployment ended be counted
        report = traffic.report
        requests, failed = report.requests, report.failed
        served = sorted(report.versions_after(end))
    dep = outcome.deployment
    return {
        "version": version,
        "strategy": dep.strategy,
        "outcome": dep.status,
        "duration_s": seconds_between(dep.started_at, dep.ended_at),
        "requests": requests,
        "failed_requests": failed,
        "rollback_s": dep.rollback_s,
        "deployment": dep.id,
        "served_at_end": ", ".join(served) if served else None,
    }
