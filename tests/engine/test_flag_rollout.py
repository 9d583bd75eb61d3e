"""The flag strategy against real supervisord, HAProxy and the flag server (uvicorn): the code
rolls out dark, the flag grows and each share is verified through the server, and taking it
back is one write — no instance restarted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine, control
from slipway.flags.server import FlagServer, ofrep_app, source_for
from slipway.spec import load_spec
from slipway.spec.strategy import FlagSpec
from slipway.store import Store
from tests.conftest import stop_environment
from tests.engine.test_progressive import in_background, url, wait_for_step
from tests.support.sample import free_port_range, write_sample_spec

STRATEGY = """
  type: flag
  flag: new-checkout
  steps:
    - set_weight: 10
    - pause: {duration_s: 60}
    - set_weight: 50
  analysis: null"""


@contextmanager
def flag_environment(
    tmp_path: Path,
    *,
    serving: bool = True,
    strategy: str = STRATEGY,
    process_env: dict[str, str] | None = None,
) -> Iterator[tuple[Engine, Store]]:
    port = free_port_range(1)
    spec = write_sample_spec(
        tmp_path,
        strategy=strategy,
        extra=f"    flags: {{listen: 127.0.0.1:{port}}}\n",
        process_env={"OFREP_URL": f"http://127.0.0.1:{port}", **(process_env or {})},
    )
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    engine = Engine(env, store=store, backends=Backends.for_environment(env, clock=SystemClock()))
    server = FlagServer(ofrep_app(source_for(env, store)), host="127.0.0.1", port=port)
    try:
        if serving:
            server.start()
        yield engine, store
    finally:
        server.stop()
        store.close()
        stop_environment(env)


@pytest.fixture
def flagged(tmp_path: Path) -> Iterator[tuple[Engine, Store]]:
    with flag_environment(tmp_path) as pair:
        yield pair


def quick(engine: Engine) -> Engine:
    """The same environment with only the strategy's first step (then 100 %)."""
    strategy = engine.env.strategy
    assert isinstance(strategy, FlagSpec)
    short = strategy.model_copy(update={"steps": strategy.steps[:1]})
    env = engine.env.model_copy(update={"strategy": short})
    return Engine(env, store=engine.store, backends=engine.backends)


def pids(engine: Engine) -> dict[str, int | None]:
    return {i.slot: i.pid for i in engine.backends.target.instances() if i.running}


def test_abort_takes_the_flag_back_to_zero_and_restarts_nothing(
    flagged: tuple[Engine, Store],
) -> None:
    engine, store = flagged
    first = quick(engine).deploy("v1")
    assert first.exit_code == 0, first.deployment.reason
    with TrafficGenerator(url(engine), concurrency=2, max_duration_s=90) as traffic:
        thread, result = in_background(engine, "v2")
        dep_id = wait_for_step(store, engine, "pause")
        flag = store.flag("shop", "test", "new-checkout")
        assert flag is not None and flag.weight == 10 and flag.deployment_id == dep_id
        assert store.current("shop", "test").version == "v2"  # type: ignore[union-attr]
        before = pids(engine)
        control.send(engine.env, store, "abort", who="alice", comment="checkout looks wrong")
        thread.join(timeout=60)
        time.sleep(0.3)
    outcome = result[0]
    assert outcome.exit_code == 3 and outcome.deployment.status == "aborted"
    assert "aborted by alice" in (outcome.deployment.reason or "")
    flag = store.flag("shop", "test", "new-checkout")
    assert flag is not None and flag.weight == 0
    # the code stays, dark: same processes, v2 current, nothing started or stopped
    assert pids(engine) == before
    assert {i.version for i in engine.backends.target.instances() if i.running} == {"v2"}
    assert store.current("shop", "test").version == "v2"  # type: ignore[union-attr]
    rollback = [s for s in store.steps(dep_id) if s.phase == "rollback"]
    assert [(s.kind, s.params["weight"], s.state) for s in rollback] == [
        ("set_flag", 0, "succeeded")
    ]
    starts = [s for s in store.steps(dep_id) if s.kind == "start_instance"]
    assert starts and all(s.state == "succeeded" for s in starts)  # not "compensated"
    assert traffic.report.failed == 0, traffic.report.errors


def test_a_good_release_ends_with_the_flag_on_for_everyone(
    flagged: tuple[Engine, Store],
) -> None:
    engine, store = flagged
    first = quick(engine).deploy("v1")
    assert first.exit_code == 0, first.deployment.reason
    flag = store.flag("shop", "test", "new-checkout")
    assert flag is not None and flag.weight == 100 and flag.revision == 3  # 0, 10, 100
    steps = store.steps(first.deployment.id)
    assert [s.params["weight"] for s in steps if s.kind == "set_flag"] == [0, 10, 100]
    verified = [s.result for s in steps if s.kind == "verify_flag"]
    assert [(v["keys"], v["mismatches"], v["unsticky"]) for v in verified] == [
        (1000, 0, 0),
        (1000, 0, 0),
    ]
    assert 0.05 < verified[0]["share"] < 0.15 and verified[1]["share"] == 1.0
    assert first.deployment.strategy == "flag"


def test_a_split_the_server_does_not_serve_stops_the_rollout(tmp_path: Path) -> None:
    with flag_environment(tmp_path, serving=False) as (engine, store):
        outcome = quick(engine).deploy("v1")
        dep = outcome.deployment
        assert outcome.exit_code == 3 and dep.status == "rolled_back", dep.reason
        assert "the flag server did not answer" in (dep.reason or "")
        flag = store.flag("shop", "test", "new-checkout")
        assert flag is not None and flag.weight == 0
        # the code had gone out dark before: it stays
        assert {i.version for i in engine.backends.target.instances() if i.running} == {"v1"}


ANALYSED = FlagSpec.model_validate(
    {
        "type": "flag",
        "flag": "new-checkout",
        "steps": [{"set_weight": 20}, {"pause": {"duration_s": 30}}],
        "analysis": {"interval_s": 0.5, "min_requests": 5},
    }
)


def test_users_with_the_flag_on_are_judged_against_users_with_it_off(
    flagged: tuple[Engine, Store],
) -> None:
    engine, store = flagged
    assert quick(engine).deploy("v1").exit_code == 0
    env = engine.env.model_copy(update={"strategy": ANALYSED})
    analysed = Engine(env, store=store, backends=engine.backends)
    with TrafficGenerator(url(engine), concurrency=4, max_duration_s=90, users=5000) as traffic:
        thread, result = in_background(analysed, "flag_errors_20pct")
        dep_id = wait_for_step(store, engine, "pause")
        before = pids(engine)
        thread.join(timeout=90)
        time.sleep(2)  # the server reads the write within refresh_s: then nobody has it on
        settled = time.monotonic()
        time.sleep(0.5)
    outcome = result[0]
    dep = outcome.deployment
    assert outcome.exit_code == 3 and dep.status == "rolled_back", dep.reason
    assert "error_rate" in (dep.reason or "")
    runs = store.analysis_runs(dep_id)
    last = {m["metric"]: m for m in runs[-1].measurements if "metric" in m}["error_rate"]
    assert runs[-1].verdict == "abort" and runs[-1].weight == 20
    assert last["canary"] > 0.05 and last["baseline"] == 0  # on: 20 % errors; off: none
    assert last["baseline_requests"] > last["canary_requests"] > 0  # ~80 % of users are off
    assert runs[-1].canary_version == runs[-1].baseline_version == "flag_errors_20pct"
    # no restart; the flag is off; users who had it on get the old code path again
    assert pids(engine) == before
    assert store.flag("shop", "test", "new-checkout").weight == 0  # type: ignore[union-attr]
    report = traffic.report
    assert any(s.variant == "new-checkout=on" for s in report.samples)
    assert {s.variant for s in report.samples if s.sent > settled} == {"new-checkout=off"}
    failed = [s for s in report.samples if s.failed]
    assert failed and all(s.variant == "new-checkout=on" for s in failed)
