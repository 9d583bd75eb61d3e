"""Blue-green and canary on a fleet: real sshd hosts, HAProxy on the LB host, and a canary
judged from HAProxy's per-request log, followed through the runtime API over SSH."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from slipway.analysis.base import Window
from slipway.backends.local import request_log
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine, Outcome, control
from slipway.router.remote import RemoteHAProxyRouter
from slipway.store import Store
from tests.engine.test_fleet import fleet_engine, serving
from tests.support.hosts import TestFleet, write_fleet_spec
from tests.support.verdicts import aborted_by_error_rate

BLUE_GREEN = "{type: blue-green, smoke: [{path: /}], scale_down_delay_s: 60}"
# 10 % for up to 20 s with analysis every 0.5 s, then 50 %: the local canary test's, inline
CANARY = (
    "{type: canary, steps: [{set_weight: 10}, {pause: {duration_s: 20}}, {set_weight: 50},"
    " {pause: {duration_s: 1}}], analysis: {interval_s: 0.5, min_requests: 5,"
    " metrics: [{name: error_rate, fail_if: '> 0.01'}]}}"
)


def traffic_to(fleet: TestFleet) -> TrafficGenerator:
    lb = fleet.hosts[-1].address
    return TrafficGenerator(
        f"http://{lb}:8080/work", concurrency=4, max_duration_s=90, test_hosts=[lb]
    )


@contextmanager
def engine_and_store(spec: Path) -> Iterator[tuple[Engine, Store]]:
    with fleet_engine(spec) as engine:
        store = Store.for_state_dir(engine.env.state_dir.parent)
        try:
            yield engine, store
        finally:
            store.close()


@pytest.mark.parametrize("admin_port", [None, 9999], ids=["over-ssh", "tcp-admin-socket"])
def test_request_log_of_a_fleet_follows_the_lb_hosts_ring(
    make_hosts: Callable[..., TestFleet], tmp_path: Path, admin_port: int | None
) -> None:
    fleet = make_hosts(3)
    spec = write_fleet_spec(
        tmp_path, fleet, strategy="{type: rolling, batch_size: 100%}", admin_port=admin_port
    )
    with fleet_engine(spec) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        router = engine.backends.router
        assert isinstance(router, RemoteHAProxyRouter)
        slots = tuple(serving(engine))
        with request_log(engine.env, router) as log:
            for reload in (False, True):
                if reload:  # a new worker, with a new ring: the following goes on there
                    router.pool.call(router.sv.acall("supervisor.signalProcess", "haproxy", "USR2"))
                    time.sleep(1)
                start = time.monotonic()
                with traffic_to(fleet) as traffic:
                    time.sleep(2)
                time.sleep(0.5)
                records = log.records(slots, Window(start, time.monotonic()))
                report = traffic.report
                assert report.requests > 20 and report.failed == 0, report.errors
                assert len(records) == report.requests, reload
                assert {r.status for r in records} == {200}
                assert {r.slot for r in records} == set(slots)  # both web hosts answered


def test_blue_green_on_a_fleet_switches_every_host_and_back(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(4)
    spec = write_fleet_spec(tmp_path, fleet, strategy=BLUE_GREEN)
    with engine_and_store(spec) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with traffic_to(fleet) as traffic:
            result: list[Outcome] = []
            thread = threading.Thread(target=lambda: result.append(engine.deploy("v2")))
            thread.start()
            dep = _wait_for_step(store, engine, "hold")
            time.sleep(0.5)
            assert set(serving(engine).values()) == {"v2"} and len(serving(engine)) == 3
            running = {i.version for i in engine.backends.target.instances() if i.running}
            assert running == {"v1", "v2"}  # the old set waits on standby on every host
            back = Engine(engine.env, store=store, backends=engine.backends).rollback()
            done = time.monotonic()
            thread.join(timeout=60)
            time.sleep(0.5)
        assert back.exit_code == 0 and back.deployment.id == dep, back.deployment.reason
        assert result[0].exit_code == 3
        report = traffic.report
        assert report.failed == 0, report.errors
        assert report.versions_after(done) == {"v1"}
        assert set(serving(engine).values()) == {"v1"} and len(serving(engine)) == 3
        rollback = [s.kind for s in store.steps(dep) if s.phase == "rollback"]
        assert "start_instance" not in rollback  # a switch back, not a restart


def test_canary_on_a_fleet_answering_5xx_is_aborted_by_analysis_of_haproxys_log(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(4)
    spec = write_fleet_spec(tmp_path, fleet, strategy=CANARY)
    with engine_and_store(spec) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with traffic_to(fleet) as traffic:
            outcome = engine.deploy("errors_20pct")
            done = time.monotonic()
            time.sleep(0.3)
        runs = aborted_by_error_rate(outcome, store)  # at the first step's weight
        measured = {m["metric"]: m for m in runs[-1].measurements if "metric" in m}
        error_rate = measured["error_rate"]
        assert error_rate["canary"] > 0.01 and error_rate["baseline"] == 0
        assert error_rate["baseline_requests"] > error_rate["canary_requests"] > 0
        report = traffic.report
        assert 0 < report.failed < report.requests * 0.1
        assert report.failed_between(done, float("inf")) == 0
        assert report.versions_after(done) == {"v1"}
        assert {i.version for i in engine.backends.target.instances()} == {"v1"}


def test_good_canary_on_a_fleet_goes_through_its_steps(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(3)
    strategy = CANARY.replace("duration_s: 20", "duration_s: 3")
    spec = write_fleet_spec(tmp_path, fleet, strategy=strategy)
    with engine_and_store(spec) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        with traffic_to(fleet) as traffic:
            outcome = engine.deploy("v2")
            done = time.monotonic()
            time.sleep(0.3)
        assert outcome.exit_code == 0, outcome.deployment.reason
        runs = store.analysis_runs(outcome.deployment.id)
        assert len(runs) >= 4 and all(r.verdict == "continue" for r in runs)
        assert {r.weight for r in runs} == {10, 50}
        assert traffic.report.failed == 0, traffic.report.errors
        assert traffic.report.versions_after(done) == {"v2"}
        assert set(serving(engine).values()) == {"v2"}


def _wait_for_step(store: Store, engine: Engine, kind: str) -> str:
    return control.wait_for_step(engine.env, store, kind, clock=SystemClock(), timeout_s=60).id
