"""Rolling deploys and automatic rollback against real supervisord, HAProxy and the sample app."""

from __future__ import annotations

import time
from pathlib import Path

from slipway.backends import Backends
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store


def open_engine(spec_file: Path) -> tuple[Engine, Store]:
    env = load_spec(spec_file).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    return Engine(env, store=store, backends=backends), store


def serving_versions(engine: Engine) -> dict[str, str]:
    return {p.slot: p.version for p in read_placement(engine.backends) if p.serving}


def test_rolling_update_under_load_loses_no_request(spec_file: Path) -> None:
    engine, store = open_engine(spec_file)
    try:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        url = f"http://127.0.0.1:{engine.env.router.listen.port}/work"
        with TrafficGenerator(
            url, concurrency=4, max_requests=50_000, max_duration_s=60
        ) as traffic:
            time.sleep(0.3)
            outcome = engine.deploy("v2")
            finished = time.monotonic()
            time.sleep(0.5)
        report = traffic.report
        assert outcome.exit_code == 0, outcome.deployment.reason
        assert report.requests > 200
        assert report.failed == 0, report.errors
        assert report.versions_after(finished) == {"v2"}
        assert set(serving_versions(engine).values()) == {"v2"}
        assert len(serving_versions(engine)) == 3
        current = store.current("shop", "test")
        assert current is not None and current.version == "v2"
        assert current.release_digest and current.release_digest.startswith("sha256:")
        steps = store.steps(outcome.deployment.id)
        assert all(s.state == "succeeded" for s in steps)
    finally:
        store.close()


def test_release_failing_its_health_check_is_rolled_back(spec_file: Path) -> None:
    engine, store = open_engine(spec_file)
    try:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        url = f"http://127.0.0.1:{engine.env.router.listen.port}/work"
        with TrafficGenerator(
            url, concurrency=2, max_requests=20_000, max_duration_s=60
        ) as traffic:
            outcome = engine.deploy("v3")
        assert outcome.exit_code == 3
        dep = outcome.deployment
        assert dep.status == "rolled_back"
        assert dep.rollback_s is not None and dep.rollback_s < 10
        assert "health" in (dep.reason or "")
        assert traffic.report.failed == 0, traffic.report.errors
        assert set(serving_versions(engine).values()) == {"v1"}
        assert len(serving_versions(engine)) == 3
        # no instance of v3 is left running
        assert {i.version for i in engine.backends.target.instances()} == {"v1"}
        current = store.current("shop", "test")
        assert current is not None and current.version == "v1"
        states = {s.state for s in store.steps(dep.id)}
        assert ("failed" in states and "compensated" in states) or "skipped" in states
        events = " ".join(e.message for e in store.events(dep.id))
        assert "rolling back to v1" in events
    finally:
        store.close()


def test_manual_rollback_to_previous_release(spec_file: Path) -> None:
    engine, store = open_engine(spec_file)
    try:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        assert engine.deploy("v2").exit_code == 0
        outcome = engine.rollback()
        assert outcome.exit_code == 0, outcome.deployment.reason
        assert outcome.deployment.kind == "rollback"
        assert set(serving_versions(engine).values()) == {"v1"}
        assert store.current("shop", "test").version == "v1"  # type: ignore[union-attr]
        assert engine.backends.releases.current() == "v1"
    finally:
        store.close()


def test_late_failure_brings_moved_instances_back(spec_file: Path) -> None:
    """v5 fails on its third instance only: the two already moved must serve v1 again."""
    engine, store = open_engine(spec_file)
    try:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        url = f"http://127.0.0.1:{engine.env.router.listen.port}/work"
        with TrafficGenerator(
            url, concurrency=2, max_requests=20_000, max_duration_s=60
        ) as traffic:
            outcome = engine.deploy("v5")
            finished = time.monotonic()
            time.sleep(0.3)
        assert outcome.exit_code == 3, outcome.deployment.reason
        assert traffic.report.failed == 0, traffic.report.errors
        assert traffic.report.versions_after(finished) == {"v1"}
        assert "v5" in traffic.report.by_version  # it did serve before it was rejected
        assert sorted(serving_versions(engine).values()) == ["v1", "v1", "v1"]
        assert {i.version for i in engine.backends.target.instances()} == {"v1"}
        rollback = [s for s in store.steps(outcome.deployment.id) if s.phase == "rollback"]
        assert [s.kind for s in rollback].count("start_instance") == 2
    finally:
        store.close()
