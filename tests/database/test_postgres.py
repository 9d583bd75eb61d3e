"""Backups, verification, rehearsal and restore against a real PostgreSQL on loopback."""

from __future__ import annotations

import hashlib
import stat
import sys
from pathlib import Path

import pytest

from slipway.database.dsn import Dsn
from slipway.database.postgres import databases, dump, verify
from slipway.database.rehearsal import rehearse, restore, run_migration
from slipway.errors import BackendError
from tests.support.postgres import PostgresCluster

ADD_COLUMN = [
    "psql",
    "--no-psqlrc",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    "ALTER TABLE orders ADD COLUMN currency text DEFAULT 'EUR'",
]
BROKEN = [
    "psql",
    "--no-psqlrc",
    "-v",
    "ON_ERROR_STOP=1",
    "-c",
    "ALTER TABLE missing_table ADD COLUMN x int",
]


def columns(postgres: PostgresCluster, dbname: str) -> list[str]:
    rows = postgres.execute(
        dbname,
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY 1",
    )
    return [str(r[0]) for r in rows]


def test_dump_is_whole_private_and_verified(database_url: str, tmp_path: Path) -> None:
    dsn = Dsn.parse(database_url)
    dumped = dump(dsn, tmp_path / "backups", "bk-1.dump", timeout_s=60)
    assert dumped.path == tmp_path / "backups" / "bk-1.dump"
    assert dumped.path.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert dumped.size_bytes == dumped.path.stat().st_size > 0
    assert dumped.sha256 == hashlib.sha256(dumped.path.read_bytes()).hexdigest()
    assert stat.S_IMODE(dumped.path.stat().st_mode) == 0o600
    assert not list((tmp_path / "backups").glob(".*partial"))
    checked = verify(dumped.path, timeout_s=60)
    assert checked.ok and checked.entries >= 3  # the table, its sequence, its data…
    assert checked.evidence == f"pg_restore --list: {checked.entries} entries"


def test_a_damaged_dump_fails_verification(database_url: str, tmp_path: Path) -> None:
    dumped = dump(Dsn.parse(database_url), tmp_path, "bk.dump", timeout_s=60)
    dumped.path.write_bytes(dumped.path.read_bytes()[: dumped.size_bytes // 3])
    checked = verify(dumped.path, timeout_s=60)
    assert not checked.ok and "pg_restore --list failed" in checked.evidence
    garbage = tmp_path / "garbage.dump"
    garbage.write_text("not an archive")
    assert not verify(garbage, timeout_s=60).ok


def test_a_wrong_password_fails_without_printing_it(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    dsn = Dsn.parse(postgres.url(password="wrong-password-123"))
    with pytest.raises(BackendError) as caught:
        dump(dsn, tmp_path, "bk.dump", timeout_s=60)
    assert "password authentication failed" in str(caught.value)
    assert "wrong-password-123" not in str(caught.value)
    assert not (tmp_path / "bk.dump").exists()


def test_rehearsal_migrates_a_copy_and_drops_it(
    postgres: PostgresCluster, database_url: str, tmp_path: Path
) -> None:
    dsn = Dsn.parse(database_url)
    dumped = dump(dsn, tmp_path, "bk.dump", timeout_s=60)
    before = set(postgres.databases())
    result = rehearse(
        dsn,
        dumped.path,
        ADD_COLUMN,
        cwd=tmp_path,
        url_env="DATABASE_URL",
        timeout_s=60,
        restore_timeout_s=60,
    )
    assert result.ok, result.output
    assert result.scratch.startswith(f"{dsn.dbname}_rehearsal_")
    assert "ALTER TABLE" in result.output
    assert set(postgres.databases()) == before  # the scratch copy is gone
    assert "currency" not in columns(postgres, dsn.dbname)  # production untouched


def test_failed_rehearsal_reports_and_still_drops_the_copy(
    postgres: PostgresCluster, database_url: str, tmp_path: Path
) -> None:
    dsn = Dsn.parse(database_url)
    dumped = dump(dsn, tmp_path, "bk.dump", timeout_s=60)
    before = set(postgres.databases())
    result = rehearse(
        dsn,
        dumped.path,
        BROKEN,
        cwd=tmp_path,
        url_env="DATABASE_URL",
        timeout_s=60,
        restore_timeout_s=60,
    )
    assert not result.ok
    assert 'relation "missing_table" does not exist' in result.output
    assert set(databases(dsn)) == before


def test_the_migration_reads_its_url_from_the_named_variable(
    postgres: PostgresCluster, database_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "migrate.py"
    script.write_text(
        "import os, psycopg\n"
        "url = os.environ['SHOP_DB']\n"
        "with psycopg.connect(url) as c:\n"
        "    c.execute('ALTER TABLE orders ADD COLUMN paid boolean DEFAULT false')\n"
        "print('migrated; password ' + url.split(':')[2].split('@')[0])\n"
    )
    dsn = Dsn.parse(database_url)
    result = run_migration(
        dsn, [sys.executable, "migrate.py"], cwd=tmp_path, url_env="SHOP_DB", timeout_s=60
    )
    assert result.ok, result.output
    assert "paid" in columns(postgres, dsn.dbname)
    assert postgres.password not in result.output  # even a script that prints it is scrubbed
    assert "password ***" in result.output


def test_restore_puts_the_backup_back_and_loses_newer_writes(
    postgres: PostgresCluster, database_url: str, tmp_path: Path
) -> None:
    dsn = Dsn.parse(database_url)
    dumped = dump(dsn, tmp_path, "bk.dump", timeout_s=60)
    postgres.execute(dsn.dbname, "INSERT INTO orders (total) VALUES (1.00)")  # after the backup
    postgres.execute(dsn.dbname, "ALTER TABLE orders ADD COLUMN broken int")
    result = restore(dsn, dumped.path, timeout_s=60)
    assert result.ok, result.output
    assert columns(postgres, dsn.dbname) == ["id", "total"]
    assert postgres.execute(dsn.dbname, "SELECT count(*) FROM orders") == [(3,)]
