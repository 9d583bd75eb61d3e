"""Watching after promotion against real supervisord, HAProxy (its request log), the flag
server and the sample app: a release that goes bad only once it has all the traffic (its
fault file appears) is rolled back by the watch, against what the previous release measured
before the deploy; a good one's deployment ends when its watch does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from slipway import reports
from slipway.demo.traffic import TrafficGenerator, TrafficReport
from slipway.engine import Engine, Outcome, control
from slipway.store import Store
from tests.engine.test_flag_rollout import flag_environment, quick
from tests.engine.test_progressive import engine_for, in_background, url, wait_for_step
from tests.engine.test_rollout import serving_versions

WATCH = """
  post_promotion:
    duration_s: {duration}
    baseline_s: 2
    analysis:
      interval_s: 0.5
      min_requests: 5
      metrics:
        - {{name: error_rate, fail_if: "> 0.05", for_s: 1}}"""
CANARY = """
  type: canary
  steps: [{set_weight: 50}, {pause: {duration_s: 1}}]
  analysis: null"""
BLUE_GREEN = "\n  type: blue-green\n  scale_down_delay_s: 0"
FLAG = """
  type: flag
  flag: new-checkout
  steps: [{set_weight: 50}, {pause: {duration_s: 1}}]
  analysis: null"""


def watched(strategy: str, duration_s: float) -> str:
    return strategy + WATCH.format(duration=duration_s)


def running_versions(engine: Engine) -> set[str]:
    return {i.version for i in engine.backends.target.instances() if i.running}


def watch_runs(store: Store, dep_id: str) -> list[str]:
    return [r.summary for r in store.analysis_runs(dep_id) if r.analysis == "post-promotion"]


def recorded_baseline(store: Store, dep_id: str) -> dict[str, object]:
    (step,) = [s for s in store.steps(dep_id) if s.kind == "record_baseline"]
    assert step.state == "succeeded" and step.result is not None
    return step.result


@dataclass
class GoneBad:
    """What a release that went bad during its watch left: the outcome, the deployment, the
    users' requests and when the deployment had ended."""

    outcome: Outcome
    dep_id: str
    report: TrafficReport
    done: float


def gone_bad(
    tmp_path: Path, strategy: str, during_watch: Callable[[Engine, Store], None]
) -> GoneBad:
    """v1, then ``late_errors`` under traffic; once its watch runs, ``during_watch`` looks,
    then the fault file appears (20 % of its requests fail from then on)."""
    fault = tmp_path / "fault"
    with engine_for(tmp_path, strategy, process_env={"FAULT_FILE": str(fault)}) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with TrafficGenerator(url(engine), concurrency=4, max_duration_s=150) as traffic:
            thread, result = in_background(engine, "late_errors")
            dep_id = wait_for_step(store, engine, "post_promotion", timeout_s=90)
            # promoted: everything on the new release, the watch on
            assert set(serving_versions(engine).values()) == {"late_errors"}
            during_watch(engine, store)
            fault.write_text("now")
            thread.join(timeout=120)
            done = time.monotonic()
            time.sleep(0.3)
    return GoneBad(result[0], dep_id, traffic.report, done)


def test_canary_gone_bad_after_promotion_is_rolled_back_by_its_watch(tmp_path: Path) -> None:
    stores: list[Store] = []

    def during_watch(engine: Engine, store: Store) -> None:
        stores.append(store)
        assert running_versions(engine) == {"late_errors"}  # the old set stopped
        status = reports.status(engine.env, store=store, backends=engine.backends)
        assert status["last_deployment"]["status"] == "running"
        watch = status["watch"]
        assert (watch["version"], watch["baseline"]) == ("late_errors", "v1")
        assert 0 < watch["left_s"] <= 120

    bad = gone_bad(tmp_path, watched(CANARY, 120), during_watch)
    store, dep_id = stores[0], bad.dep_id
    assert bad.outcome.exit_code == 3 and bad.outcome.deployment.status == "rolled_back"
    assert "post-promotion" in (bad.outcome.deployment.reason or "")
    assert "error_rate" in (bad.outcome.deployment.reason or "")
    # compared with what v1 measured before anything moved
    samples = recorded_baseline(store, dep_id)["samples"]
    assert isinstance(samples, dict) and samples["error_rate"]["requests"] > 0
    runs = watch_runs(store, dep_id)
    assert any(r.startswith("breach") for r in runs)  # for_s: a breach before the failure
    assert runs[-1].startswith("fail")
    # v1 is back (started again from its release on disk), the bad release gone
    assert bad.report.failed_between(bad.done, float("inf")) == 0
    assert bad.report.versions_after(bad.done) == {"v1"}
    assert store.current("shop", "test").version == "v1"  # type: ignore[union-attr]


def test_blue_green_watch_rolls_back_by_switching_to_blue_still_running(tmp_path: Path) -> None:
    stores: list[Store] = []

    def during_watch(engine: Engine, store: Store) -> None:
        stores.append(store)
        assert running_versions(engine) == {"v1", "late_errors"}  # blue runs, on standby

    bad = gone_bad(tmp_path, watched(BLUE_GREEN, 120), during_watch)
    assert bad.outcome.exit_code == 3, bad.outcome.deployment.reason
    rollback = [s.kind for s in stores[0].steps(bad.dep_id) if s.phase == "rollback"]
    assert "start_instance" not in rollback  # a switch back, not a restart
    assert bad.report.versions_after(bad.done) == {"v1"}
    assert bad.report.failed_between(bad.done, float("inf")) == 0


def test_a_good_release_ends_its_deployment_when_the_watch_ends(tmp_path: Path) -> None:
    with engine_for(tmp_path, watched(BLUE_GREEN, 4)) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with TrafficGenerator(url(engine), concurrency=2, max_duration_s=90):
            thread, result = in_background(engine, "v2")
            dep_id = wait_for_step(store, engine, "post_promotion", timeout_s=90)
            assert store.deployment(dep_id).status == "running"
            assert running_versions(engine) == {"v1", "v2"}
            thread.join(timeout=60)
        # the environment still up: blue retired once the watch was over
        assert running_versions(engine) == {"v2"}
        assert reports.status(engine.env, store=store, backends=engine.backends)["watch"] is None
    outcome = result[0]
    assert outcome.exit_code == 0 and outcome.deployment.status == "succeeded"
    (watch,) = [s for s in store.steps(dep_id) if s.kind == "post_promotion"]
    assert watch.result is not None and watch.result["ended"] == "elapsed"
    assert (watch.started_at or "") < (outcome.deployment.ended_at or "")
    assert watch_runs(store, dep_id)  # judged while it lasted


def test_flag_gone_bad_after_reaching_everyone_is_taken_back_to_zero(tmp_path: Path) -> None:
    fault = tmp_path / "fault"
    strategy = watched(FLAG, 120)
    with flag_environment(tmp_path, strategy=strategy, process_env={"FAULT_FILE": str(fault)}) as (
        engine,
        store,
    ):
        first = quick(engine).deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with TrafficGenerator(url(engine), concurrency=4, max_duration_s=150, users=500):
            thread, result = in_background(engine, "flag_late_errors")
            dep_id = wait_for_step(store, engine, "post_promotion", timeout_s=90)
            flag = store.flag("shop", "test", "new-checkout")
            assert flag is not None and flag.weight == 100
            fault.write_text("now")
            thread.join(timeout=120)
        assert running_versions(engine) == {"flag_late_errors"}  # the code stays, dark
    outcome = result[0]
    assert outcome.exit_code == 3, outcome.deployment.reason
    assert "post-promotion" in (outcome.deployment.reason or "")
    flag = store.flag("shop", "test", "new-checkout")
    assert flag is not None and flag.weight == 0
    rollback = [
        (s.kind, s.params.get("weight")) for s in store.steps(dep_id) if s.phase == "rollback"
    ]
    assert rollback == [("set_flag", 0)]


def test_promote_ends_the_watch_early(tmp_path: Path) -> None:
    with engine_for(tmp_path, watched(BLUE_GREEN, 300)) as (engine, store):
        assert engine.deploy("v1").exit_code == 0
        thread, result = in_background(engine, "v2")
        dep_id = wait_for_step(store, engine, "post_promotion", timeout_s=90)
        control.send(engine.env, store, "promote", who="carol")
        thread.join(timeout=60)
        assert not thread.is_alive()  # long before the 300 s watch would have ended
        assert running_versions(engine) == {"v2"}
    assert result[0].exit_code == 0, result[0].deployment.reason
    (watch,) = [s for s in store.steps(dep_id) if s.kind == "post_promotion"]
    assert watch.result is not None
    assert (watch.result["ended"], watch.result["by"]) == ("promoted", "carol")
