"""Deployments with a database: backup, rehearsal and migration as steps of the plan, against
real PostgreSQL, HAProxy and supervisord; a failing rehearsal is a No-Go that touches nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slipway.actions.context import StepContext
from slipway.actions.database import DatabaseActions
from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.database.dsn import Dsn
from slipway.errors import PermanentError
from slipway.spec import load_spec
from slipway.steps import OfVersion, Restore
from slipway.store import Store
from slipway.store.records import Records
from tests.support.postgres import PostgresCluster

GOOD = "ALTER TABLE orders ADD COLUMN IF NOT EXISTS currency text DEFAULT 'EUR'"
BROKEN = "ALTER TABLE orders ADD COLUMN total numeric"  # already exists: fails

SECTION = """
database:
  url_env: SHOP_DATABASE_URL
  backup_dir: backups
  migrate:
    command: [psql, --no-psqlrc, -v, ON_ERROR_STOP=1, -c, "{sql}"]
"""


def slipway(spec_file: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOP_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "slipway", *args, "-f", str(spec_file)],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip


def with_migration(spec_file: Path, base: str, sql: str) -> None:
    spec_file.write_text(base + SECTION.format(sql=sql))


def columns(postgres: PostgresCluster, dbname: str) -> list[str]:
    rows = postgres.execute(
        dbname,
        "SELECT column_name FROM information_schema.columns WHERE table_name='orders' ORDER BY 1",
    )
    return [str(r[0]) for r in rows]


def test_plan_backup_rehearse_migrate_then_no_go_on_a_bad_migration(
    spec_file: Path, postgres: PostgresCluster, database_url: str
) -> None:
    base = spec_file.read_text()
    dbname = Dsn.parse(database_url).dbname
    with_migration(spec_file, base, GOOD)

    planned = json.loads(
        slipway(spec_file, database_url, "plan", "--version", "v1", "--output", "json").stdout
    )
    kinds = [s["kind"] for s in planned["steps"]]
    assert kinds[:5] == [
        "prepare_release",
        "ensure_infra",
        "backup_database",
        "rehearse_migration",
        "migrate_database",
    ]
    assert kinds[5] == "start_instance"

    first = slipway(spec_file, database_url, "deploy", "--version", "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert columns(postgres, dbname) == ["currency", "id", "total"]

    env = load_spec(spec_file).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    records = Records(store)
    [backup] = records.backups("shop", "test")
    assert backup.verified and Path(backup.location).is_file()
    assert Path(backup.location).parent == env.state_dir / "backups"
    assert backup.database == f"postgresql://slipway_test@127.0.0.1:{postgres.port}/{dbname}"
    [rehearsal] = records.rehearsals("shop", "test")
    assert rehearsal.outcome == "passed" and rehearsal.backup_id == backup.id

    # v2 with a migration that cannot work: No-Go, exit 4, v1 still serving, database untouched
    with_migration(spec_file, base, BROKEN)
    before = set(postgres.databases())
    second = slipway(spec_file, database_url, "deploy", "--version", "v2")
    assert second.returncode == 4, second.stdout + second.stderr
    dep = store.deployments("shop", "test")[0]
    assert dep.version == "v2" and dep.status == "no_go"
    assert dep.reason is not None and "production was not touched" in dep.reason
    assert 'column "total" of relation "orders" already exists' in dep.reason
    states = {s.kind: s.state for s in store.steps(dep.id)}
    assert states["rehearse_migration"] == "failed"
    assert states["migrate_database"] == "skipped" and states["start_instance"] == "skipped"
    assert records.rehearsals("shop", "test")[0].outcome == "failed"
    assert set(postgres.databases()) == before  # the scratch copy was dropped
    assert columns(postgres, dbname) == ["currency", "id", "total"]
    status = json.loads(slipway(spec_file, database_url, "status", "--output", "json").stdout)
    assert status["current"]["version"] == "v1"
    assert {i["version"] for i in status["instances"] if i["serving"]} == {"v1"}

    # the password is nowhere: not in the store, not in what the CLI printed
    store.close()
    for path in env.state_dir.parent.glob("slipway.db*"):
        assert postgres.password.encode() not in path.read_bytes()
    for result in (first, second):
        assert postgres.password not in result.stdout + result.stderr


def test_an_unset_database_url_is_no_go(spec_file: Path) -> None:
    spec_file.write_text(spec_file.read_text() + SECTION.format(sql=GOOD))
    env = {k: v for k, v in os.environ.items() if k != "SHOP_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "slipway", "deploy", "--version", "v1", "-f", str(spec_file)],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert result.returncode == 4, result.stdout + result.stderr
    assert "$SHOP_DATABASE_URL is not set" in result.stdout + result.stderr


def test_backup_then_restore_actions_say_what_is_lost(
    spec_file: Path, postgres: PostgresCluster, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_file.write_text(spec_file.read_text() + SECTION.format(sql=GOOD))
    monkeypatch.setenv("SHOP_DATABASE_URL", database_url)
    env = load_spec(spec_file).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    dep = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep, app="shop", environment="test", kind="deploy", version="v1",
        previous_version=None, strategy="rolling",
    )  # fmt: skip
    clock = SystemClock()
    actions = DatabaseActions(
        StepContext(env, Backends.for_environment(env, clock=clock), store, clock, dep)
    )
    taken = actions.backup_database(OfVersion("v1"))
    assert actions.backup_database(OfVersion("v1")) == {"backup": taken["backup"], "reused": True}
    dbname = Dsn.parse(database_url).dbname
    postgres.execute(dbname, "INSERT INTO orders (total) VALUES (5.00)")
    postgres.execute(dbname, "ALTER TABLE orders ADD COLUMN broken int")

    restored = actions.restore_database(Restore(taken["backup"]))
    assert restored["backup"] == taken["backup"]
    assert columns(postgres, dbname) == ["id", "total"]
    assert postgres.execute(dbname, "SELECT count(*) FROM orders") == [(3,)]
    warning = [e for e in store.events(dep) if e.level == "warning"][-1]
    assert warning.message.startswith(
        f"database restored from {taken['backup']}: what was written after"
    )

    backup = Records(store).backup(taken["backup"])
    assert backup is not None
    Path(backup.location).write_bytes(b"PGDMP tampered")
    with pytest.raises(PermanentError, match="missing or changed"):
        actions.restore_database(Restore(taken["backup"]))


NOTE = "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text"


def wait_for_restore_gate(store: Store, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for dep in store.deployments("shop", "test", limit=3):
            for step in store.steps(dep.id):
                if step.params.get("gate") == "confirm_restore" and step.state == "running":
                    return dep.id
        time.sleep(0.1)
    raise AssertionError("no restore gate ran")


@pytest.mark.parametrize("answer", ["approve", "reject"])
def test_a_restore_after_a_rollback_waits_for_a_person(
    spec_file: Path, postgres: PostgresCluster, database_url: str, answer: str
) -> None:
    base = spec_file.read_text()
    dbname = Dsn.parse(database_url).dbname
    with_migration(spec_file, base, GOOD)
    assert slipway(spec_file, database_url, "deploy", "--version", "v1").returncode == 0
    # v3 migrates (adds `note`), then fails its health check: rolled back, then a person decides
    with_migration(spec_file, base, NOTE)
    env = {**os.environ, "SHOP_DATABASE_URL": database_url, "SLIPWAY_USER": "dba"}
    deploy = subprocess.Popen(
        [sys.executable, "-m", "slipway", "deploy", "--version", "v3", "-f", str(spec_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        store = Store.for_state_dir(load_spec(spec_file).environment("test").state_dir.parent)
        dep_id = wait_for_restore_gate(store)
        assert columns(postgres, dbname) == ["currency", "id", "note", "total"]
        # traffic is already back on v1: the restore question does not hold the rollback up
        status = json.loads(slipway(spec_file, database_url, "status", "--output", "json").stdout)
        assert {i["version"] for i in status["instances"] if i["serving"]} == {"v1"}
        said = subprocess.run(
            [sys.executable, "-m", "slipway", answer, dep_id, "-m", "checked", "-f", str(spec_file)],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert said.returncode == 0, said.stdout + said.stderr
        output, _ = deploy.communicate(timeout=180)
    finally:
        if deploy.poll() is None:
            deploy.kill()
            deploy.wait()
    assert deploy.returncode == 3, output
    dep = store.deployment(dep_id)
    assert dep.status == "rolled_back" and dep.rollback_s is not None
    restore = next(s for s in store.steps(dep_id) if s.kind == "restore_database")
    if answer == "approve":
        assert columns(postgres, dbname) == ["currency", "id", "total"]  # `note` is gone
        assert restore.result is not None and restore.result["backup"]
    else:
        assert columns(postgres, dbname) == ["currency", "id", "note", "total"]
        assert restore.result == {"skipped": "not confirmed (rejected)"}
    store.close()
