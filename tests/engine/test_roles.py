"""Roles without traffic against real supervisord and HAProxy: the sample app's workers and its
singleton scheduler (``examples/app/worker.py``) roll out after web, warmly, one beat at a
time, and roll back with web when their check fails."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.backends import Backends
from slipway.backends.placement import read_placement, read_processes
from slipway.clock import SystemClock
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store
from tests.conftest import stop_environment
from tests.support.sample import write_sample_spec

ROLES = """
roles:
  worker:
    command: [{python}, worker.py, "{{name}}"]
    count: 2
    stop_timeout_s: 10
    env: {{ROLE_LOG: "{log}"}}
    check: {{command: [{python}, worker.py, "{{name}}", --check], interval_s: 0.2, within_s: 10, failures: 2}}
  beat:
    command: [{python}, worker.py, "{{name}}", --beat]
    singleton: true
    stop_timeout_s: 5
    env: {{ROLE_LOG: "{log}"}}
"""


@pytest.fixture
def roles_spec(tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "roles.log"
    path = write_sample_spec(tmp_path, count=2, extra=ROLES.format(python=sys.executable, log=log))
    yield path
    stop_environment(load_spec(path).environment("test"))


def open_engine(spec_file: Path) -> tuple[Engine, Store]:
    env = load_spec(spec_file).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    return Engine(
        env, store=store, backends=Backends.for_environment(env, clock=SystemClock())
    ), store


def events(log: Path) -> list[tuple[int, str, str, str, int]]:
    rows = []
    for line in log.read_text().splitlines():
        t, event, name, version, pid = line.split()
        rows.append((int(t), event, name, version, int(pid)))
    return rows


def most_at_once(rows: list[tuple[int, str, str, str, int]], prefix: str) -> int:
    """The most processes named ``prefix…`` alive at one instant, from their start/stop lines."""
    alive: set[int] = set()
    most = 0
    for _, event, name, _, pid in sorted(rows):
        if not name.startswith(prefix):
            continue
        if event == "start":
            alive.add(pid)
        elif event == "stop":
            alive.discard(pid)
        most = max(most, len(alive))
    return most


def running(engine: Engine) -> dict[str, str]:
    return {p.name: p.version for p in read_processes(engine.backends) if p.running}


def test_roles_roll_out_after_web_warmly_and_one_beat_at_a_time(roles_spec: Path) -> None:
    engine, store = open_engine(roles_spec)
    log = roles_spec.parent / "roles.log"
    try:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        assert running(engine) == {"worker-1_a": "v1", "worker-2_a": "v1", "beat-1_a": "v1"}

        second = engine.deploy("v2")
        assert second.exit_code == 0, second.deployment.reason
        assert running(engine) == {"worker-1_b": "v2", "worker-2_b": "v2", "beat-1_b": "v2"}
        steps = store.steps(second.deployment.id)
        kinds = [s.kind for s in steps]
        last_web = max(i for i, k in enumerate(kinds) if k == "enable_instance")
        assert last_web < kinds.index("start_process") < kinds.index("mark_current")

        rows = events(log)
        assert most_at_once(rows, "beat-") == 1  # never two schedulers, even for an instant
        # warm shutdown: every task a v1 worker started was finished before it stopped
        for pid in {r[4] for r in rows if r[2].startswith("worker-") and r[3] == "v1"}:
            mine = [r[1] for r in rows if r[4] == pid]
            assert mine[-1] == "stop" and mine.count("task") == mine.count("done"), mine
        # the v2 workers ran (and passed their check) before the v1 ones stopped
        v2_start = min(r[0] for r in rows if r[1] == "start" and r[3] == "v2" and "worker" in r[2])
        v1_stop = min(r[0] for r in rows if r[1] == "stop" and r[3] == "v1" and "worker" in r[2])
        assert v2_start < v1_stop
    finally:
        store.close()


def test_workers_failing_their_check_roll_back_web_and_workers(roles_spec: Path) -> None:
    engine, store = open_engine(roles_spec)
    log = roles_spec.parent / "roles.log"
    try:
        assert engine.deploy("v1").exit_code == 0
        outcome = engine.deploy("workers_fail")  # web is healthy, its workers fail their check
        assert outcome.exit_code == 3
        assert outcome.deployment.status == "rolled_back"
        reason = outcome.deployment.reason or ""
        assert "check worker-" in reason and "failed 2 health checks in a row" in reason, reason
        serving = {p.version for p in read_placement(engine.backends) if p.serving}
        assert serving == {"v1"}
        assert set(running(engine).values()) == {"v1"}
        assert len([n for n in running(engine) if n.startswith("worker-")]) == 2
        assert most_at_once(events(log), "beat-") == 1
        current = store.current("shop", "test")
        assert current is not None and current.version == "v1"
    finally:
        store.close()
