"""The store against real SQLite files: records, the lease lock, concurrent writers."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from slipway.clock import ManualClock
from slipway.errors import LockedError
from slipway.redact import SECRETS
from slipway.store import Store
from slipway.store.api import this_runner
from slipway.store.records import Records


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.for_state_dir(tmp_path)
    yield s  # type: ignore[misc]
    s.close()


def make(store: Store, version: str = "v1") -> str:
    dep_id = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep_id,
        app="shop",
        environment="prod",
        kind="deploy",
        version=version,
        previous_version=None,
        strategy="rolling",
    )
    return dep_id


def test_deployment_steps_and_events_round_trip(store: Store) -> None:
    dep = make(store)
    store.add_steps(
        dep,
        [
            {
                "seq": 0,
                "phase": "deploy",
                "group_no": 1,
                "kind": "x",
                "params": {"a": 1},
                "description": "d",
            }
        ],
    )
    (step,) = store.steps(dep)
    store.set_step(step.id, state="running", attempts=1)
    store.event(dep, "hello", level="warning", slot="web-1_a")
    assert store.steps(dep)[0].state == "running"
    assert store.events(dep)[0].data == {"slot": "web-1_a"}
    found = store.find_deployment(dep[:-3])
    assert found is not None and found.id == dep


def test_schema_is_migrated_once_and_reopened(tmp_path: Path) -> None:
    first = Store.for_state_dir(tmp_path)
    dep = make(first)
    first.close()
    second = Store.for_state_dir(tmp_path)
    assert second.deployment(dep).version == "v1"
    second.close()


def test_lock_refuses_a_live_holder_and_names_it(tmp_path: Path, store: Store) -> None:
    # a live holder: another process that still runs takes the lock
    script = (
        "import sys, time; from pathlib import Path; from slipway.store import Store;"
        "s = Store.for_state_dir(Path(sys.argv[1]));"
        "s.acquire_lock('shop', 'prod', deployment_id='other', ttl_s=60);"
        "print('locked', flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=rf"deployment other .*runner .*:{holder.pid}"):
            store.acquire_lock("shop", "prod", deployment_id="mine", ttl_s=60)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    # its runner is dead now: the lock is taken over at once, without waiting for expiry
    store.acquire_lock("shop", "prod", deployment_id="mine", ttl_s=60)
    lock = store.lock("shop", "prod")
    assert lock is not None and lock.holder == this_runner()


def test_lock_of_another_host_waits_for_expiry(tmp_path: Path) -> None:
    clock = ManualClock()
    store = Store.for_state_dir(tmp_path, clock=clock)
    store.acquire_lock("shop", "prod", deployment_id="a", ttl_s=10)
    # pretend the holder runs elsewhere: its liveness cannot be checked from here
    from sqlalchemy import update

    from slipway.store.tables import locks

    with store._engine.begin() as conn:  # the only way to forge another host's lock
        conn.execute(update(locks).values(holder="elsewhere:1"))
    with pytest.raises(LockedError):
        store.acquire_lock("shop", "prod", deployment_id="b", ttl_s=10)
    clock.sleep(11)
    store.acquire_lock("shop", "prod", deployment_id="b", ttl_s=10)
    assert store.lock("shop", "prod").deployment_id == "b"  # type: ignore[union-attr]
    store.close()


def test_renew_and_release_only_our_own_lock(store: Store) -> None:
    store.acquire_lock("shop", "prod", deployment_id="a", ttl_s=5)
    assert store.renew_lock("shop", "prod", ttl_s=5)
    store.release_lock("shop", "prod")
    assert store.lock("shop", "prod") is None
    assert not store.renew_lock("shop", "prod", ttl_s=5)


def test_schema_head_constant_matches_the_migrations(store: Store) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from slipway.store.api import MIGRATIONS, SCHEMA_HEAD, schema_revision

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD
    with store._engine.connect() as conn:
        assert schema_revision(conn) == SCHEMA_HEAD


def test_state_dir_and_database_are_private(tmp_path: Path) -> None:
    state = tmp_path / "project" / ".slipway"
    store = Store.for_state_dir(state)
    make(store)  # a write: SQLite has created its -wal and -shm files now
    try:
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        for name in ("slipway.db", "slipway.db-wal", "slipway.db-shm"):
            assert stat.S_IMODE((state / name).stat().st_mode) == 0o600, name
        assert stat.S_IMODE(state.parent.stat().st_mode) != 0o700  # only what Slipway owns
    finally:
        store.close()


def test_known_secrets_never_reach_the_file(store: Store, tmp_path: Path) -> None:
    secret = "tok-" + "7c2e9a41b0"
    SECRETS.add(secret)
    dep = make(store)
    store.add_steps(
        dep,
        [
            {
                "seq": 0,
                "phase": "deploy",
                "group_no": 0,
                "kind": "k",
                "params": {},
                "description": "d",
            }
        ],
    )
    [step] = store.steps(dep)
    store.set_step(step.id, error=f"failed: {secret}", result=json.dumps({"evidence": secret}))
    store.event(dep, f"check printed {secret}", output=[secret])
    store.update_deployment(dep, reason=f"health: {secret}")
    Records(store).add_check_run(
        app="shop", environment="prod", purpose="check", verdict="go",
        results=[{"name": "tests", "evidence": f"exit 0: {secret}"}],
    )  # fmt: skip
    store.close()
    dump = "\n".join(sqlite3.connect(tmp_path / "slipway.db").iterdump())
    assert secret not in dump
    assert "failed: ***" in dump and "check printed ***" in dump and "exit 0: ***" in dump
    reopened = Store.for_state_dir(tmp_path)
    assert reopened.events(dep)[0].data == {"output": ["***"]}  # still valid JSON
    reopened.close()


def test_a_deployment_prefix_is_text_not_a_like_pattern(store: Store) -> None:
    dep = make(store)
    assert store.find_deployment(dep[:8]) is not None
    for pattern in ("%", "_", f"{dep[:4]}%", "2026_"):
        assert store.find_deployment(pattern) is None, pattern
