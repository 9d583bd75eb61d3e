"""``slipway demo``: the whole story on this machine, measured.

Deploys release v1 of the sample app (``examples/app``) to three local
instances behind HAProxy, then, under steady traffic through HAProxy from the
built-in traffic generator:

- rolls to v2 (rolling), and tries v3, whose instances fail their health check
  and which Slipway rolls back by itself;
- tries v4, which answers 5xx to 5 % of requests, as a canary at 10 %: the
  analysis of HAProxy's request log aborts it and traffic goes back to v2;
- switches to v6 with blue-green, then rolls back while v2 is still on
  standby: a traffic switch, timed from the command to the last request v6
  answered;
- ships v7 dark behind the feature flag ``new-checkout`` (served by ``slipway
  flags serve``, started here), then turns the flag on for 20 % of users: those
  users' requests fail 20 % of the time, the analysis — flag-on users against
  flag-off users — aborts, and the flag goes back to 0 % with no instance
  restarted (``rollback_s``: the abort to the last request served with the flag
  on).

The canary and blue-green phases run the same environment with those
strategies (``CANARY`` and ``BLUE_GREEN`` below). Each phase reports the same
numbers; ``decision_s`` is the time from the canary's first user request to
the analysis' abort.

The demo owns its state directory (``state_dir`` of the sample spec): it
stops what a previous demo left running there and starts from a clean slate.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from slipway.backends import Backends
from slipway.clock import SystemClock, utc_iso
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine, Outcome, control
from slipway.errors import UsageError
from slipway.reports import seconds_between
from slipway.spec import load_spec
from slipway.spec.analysis import AnalysisSpec
from slipway.spec.environment import Environment
from slipway.spec.strategy import (
    BlueGreenSpec,
    CanarySpec,
    CanaryStep,
    FlagSpec,
    PauseSpec,
    SmokeSpec,
)
from slipway.store import Deployment, Store
from slipway.view import ProgressView, safe

TRAFFIC_RATE_PER_S = 200.0
TRAFFIC_CONCURRENCY = 4


def default_spec() -> Path:
    return Path(__file__).resolve().parents[3] / "examples" / "slipway.yaml"


def run_demo(spec_file: Path | None, *, console: Console) -> dict[str, Any]:
    file = spec_file or default_spec()
    if not file.exists():
        raise UsageError(
            f"the sample spec {file} is missing",
            hint="run the demo from a checkout of Slipway, or pass -f examples/slipway.yaml",
        )
    loaded = load_spec(file)
    env = loaded.environment(None)
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
        console.rule("5. v4 (5xx on 5 % of requests) as a 10 % canary: analysis aborts it")
        canary = _with_strategy(engine, CANARY)
        phases.append(_phase(canary, "v4", url=url))
        console.rule("6. v6 with blue-green, then `slipway rollback` while v2 is on standby")
        phases.append(_blue_green_rollback(_with_strategy(engine, BLUE_GREEN), "v6", url=url))
        console.rule("7. v7 dark behind a flag, on for 20 % of users: analysis turns it off")
        phases.append(_flag_phase(_with_strategy(engine, FLAG), file, "v7", url=url))
        dashboard = viewer_invitation(store, env, listen=str(loaded.spec.server.listen))
    finally:
        store.close()
    console.print(
        f"\nThe sample app is still running at {url} (release "
        f"{safe(phases[-1]['served_at_end'] or '?')}). Try:\n"
        f"  .venv/bin/slipway status -f {safe(file)}\n"
        f"  .venv/bin/slipway history -f {safe(file)}\n"
        f"  .venv/bin/slipway down -f {safe(file)}\n"
        f"\nThe dashboard: `.venv/bin/slipway serve -f {safe(file)}`, then open "
        f"{dashboard['url']} and sign in with this viewer token (shown once):\n"
        f"  {dashboard['viewer_token']}"
    )
    return {"phases": phases, "dashboard": dashboard}


DEMO_VIEWER = "demo-viewer"


def viewer_invitation(store: Store, env: Environment, *, listen: str) -> dict[str, str]:
    """A fresh viewer token for the demo's environment (the previous demo's is revoked) and
    the dashboard's address: what the demo leaves a person to look at it with."""
    if store.token_named(DEMO_VIEWER) is not None:
        store.revoke_token(DEMO_VIEWER, by="slipway demo")
    _, secret = store.create_token(
        DEMO_VIEWER,
        role="viewer",
        environments=(env.name,),
        expires_at=utc_iso(SystemClock().now() + timedelta(days=7)),
        created_by="slipway demo",
    )
    return {"url": f"http://{listen}/", "viewer_token": secret}


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
    return _summary(engine, dep, version=version, requests=requests, failed=failed, served=served)


def _summary(
    engine: Engine,
    dep: Deployment,
    *,
    version: str,
    requests: int,
    failed: int,
    served: list[str],
    rollback_s: float | None = None,
) -> dict[str, Any]:
    return {
        "version": version,
        "strategy": dep.strategy,
        "outcome": dep.status,
        "duration_s": seconds_between(dep.started_at, dep.ended_at),
        "requests": requests,
        "failed_requests": failed,
        "rollback_s": rollback_s if rollback_s is not None else dep.rollback_s,
        "decision_s": _decision_s(engine.store, dep),
        "deployment": dep.id,
        "served_at_end": ", ".join(served) if served else None,
    }


CANARY = CanarySpec(
    type="canary",
    steps=[
        CanaryStep(set_weight=10),
        CanaryStep(pause=PauseSpec(duration_s=30)),
        CanaryStep(set_weight=50),
        CanaryStep(pause=PauseSpec(duration_s=10)),
    ],
    analysis=AnalysisSpec(interval_s=2, min_requests=20),
)
BLUE_GREEN = BlueGreenSpec(
    type="blue-green", smoke=[SmokeSpec(path="/health")], scale_down_delay_s=60
)


FLAG = FlagSpec(
    type="flag",
    flag="new-checkout",
    steps=[CanaryStep(set_weight=20), CanaryStep(pause=PauseSpec(duration_s=30))],
    analysis=AnalysisSpec(interval_s=2, min_requests=20),
)
FLAG_USERS = 10_000


def _with_strategy(engine: Engine, strategy: CanarySpec | BlueGreenSpec | FlagSpec) -> Engine:
    env = engine.env.model_copy(update={"strategy": strategy})
    return Engine(
        env,
        store=engine.store,
        backends=engine.backends,
        clock=engine.clock,
        observer=engine.observer,
    )


def _blue_green_rollback(engine: Engine, version: str, *, url: str) -> dict[str, Any]:
    """Deploy ``version`` blue-green; once switched, roll back as another terminal would."""
    outcomes: list[Outcome] = []
    with TrafficGenerator(
        url, concurrency=TRAFFIC_CONCURRENCY, rate_per_s=TRAFFIC_RATE_PER_S, max_duration_s=110
    ) as traffic:
        runner = threading.Thread(target=lambda: outcomes.append(engine.deploy(version)))
        runner.start()
        control.wait_for_step(engine.env, engine.store, "hold", clock=engine.clock, timeout_s=60)
        time.sleep(2)  # users on the new release for a moment
        asked = time.monotonic()
        Engine(engine.env, store=engine.store, backends=engine.backends).rollback()
        runner.join(timeout=120)
        end = time.monotonic()
        time.sleep(0.5)
    report = traffic.report
    last_new = max((s.sent for s in report.samples if s.version == version), default=asked)
    if not outcomes:
        raise UsageError(f"the blue-green deployment of {version} did not end in time")
    return _summary(
        engine,
        outcomes[0].deployment,
        version=version,
        requests=report.requests,
        failed=report.failed,
        served=sorted(report.versions_after(end)),
        rollback_s=round(max(0.0, last_new - asked), 3),
    )


def _flag_phase(engine: Engine, file: Path, version: str, *, url: str) -> dict[str, Any]:
    """Deploy ``version`` behind its flag with ``slipway flags serve`` running, under traffic
    from many users; time the abort to the last request served with the flag on."""
    server = subprocess.Popen(
        [sys.executable, "-m", "slipway", "flags", "serve", "-f", str(file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with TrafficGenerator(
            url,
            concurrency=TRAFFIC_CONCURRENCY,
            rate_per_s=TRAFFIC_RATE_PER_S,
            max_duration_s=110,
            users=FLAG_USERS,
        ) as traffic:
            outcome = engine.deploy(version)
            end = time.monotonic()
            time.sleep(1.0)  # requests after the flag went off: all on the old code path
    finally:
        server.terminate()
        server.wait(timeout=20)
    report = traffic.report
    dep = outcome.deployment
    last_on = max((s.sent for s in report.samples if s.variant == f"{FLAG.flag}=on"), default=None)
    rollback_s = None
    if last_on is not None and dep.rollback_started_at is not None:
        offset = time.time() - time.monotonic()
        started = datetime.fromisoformat(dep.rollback_started_at.replace("Z", "+00:00"))
        rollback_s = round(max(0.0, last_on + offset - started.timestamp()), 3)
    return _summary(
        engine,
        dep,
        version=version,
        requests=report.requests,
        failed=report.failed,
        served=sorted(report.versions_after(end)),
        rollback_s=rollback_s,
    )


def _decision_s(store: Store, dep: Deployment) -> float | None:
    """From the canary's first share of traffic (a flag's first share of users) to the
    analysis' abort."""
    if dep.strategy not in ("canary", "flag") or dep.rollback_started_at is None:
        return None
    first = next(
        (
            s
            for s in store.steps(dep.id)
            if s.started_at
            and (
                s.kind == "switch_traffic"
                or (s.kind == "set_flag" and int(s.params.get("weight", 0)) > 0)
            )
        ),
        None,
    )
    if first is None or first.started_at is None:
        return None
    return seconds_between(first.started_at, dep.rollback_started_at)
