"""Backup check against backups recorded in a real (SQLite) store."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from slipway.checks.backup import BackupCheck
from slipway.clock import ManualClock, utc_iso
from slipway.store import Store
from slipway.store.records import Backup, Records

MADE = datetime(2026, 10, 13, 9, 0, tzinfo=UTC)


@pytest.fixture
def records(tmp_path: Path) -> Records:
    return Records(Store.for_state_dir(tmp_path / "state"))


def record(
    records: Records, tmp_path: Path, *, verified: bool = True, at: datetime = MADE
) -> Backup:
    dump = tmp_path / "shop.dump"
    dump.write_bytes(b"PGDMP fake archive for the record")
    backup = Backup(
        id=records.new_backup_id(),
        app="shop",
        environment="production",
        deployment_id=None,
        database="postgresql://shop@127.0.0.1:5432/shop",
        location=str(dump),
        size_bytes=dump.stat().st_size,
        sha256=hashlib.sha256(dump.read_bytes()).hexdigest(),
        created_at=utc_iso(at),
        duration_s=0.4,
        verified=verified,
        verify_evidence="pg_restore --list: 7 entries",
    )
    records.add_backup(backup)
    return backup


def check(records: Records, clock: ManualClock, **kw: object) -> BackupCheck:
    return BackupCheck(
        lambda: records.last_backup("shop", "production"),
        max_age_s=3600,
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


def test_no_backup_fails(records: Records) -> None:
    result = check(records, ManualClock(start=MADE)).probe()
    assert result.status == "fail"
    assert "no backup recorded" in result.evidence


@pytest.mark.parametrize(("minutes", "status"), [(5, "pass"), (60, "pass"), (61, "fail")])
def test_age_limit(records: Records, tmp_path: Path, minutes: int, status: str) -> None:
    backup = record(records, tmp_path)
    result = check(records, ManualClock(start=MADE + timedelta(minutes=minutes))).probe()
    assert result.status == status, result.evidence
    assert backup.id in result.evidence


def test_unverified_backup_fails_unless_allowed(records: Records, tmp_path: Path) -> None:
    record(records, tmp_path, verified=False)
    clock = ManualClock(start=MADE + timedelta(minutes=1))
    assert "not verified" in check(records, clock).probe().evidence
    assert check(records, clock, require_verified=False).probe().status == "pass"


def test_a_backup_file_that_is_gone_or_changed_fails(records: Records, tmp_path: Path) -> None:
    backup = record(records, tmp_path)
    clock = ManualClock(start=MADE + timedelta(minutes=1))
    Path(backup.location).write_bytes(b"truncated")
    assert "changed size" in check(records, clock).probe().evidence
    Path(backup.location).unlink()
    assert "is gone" in check(records, clock).probe().evidence


def test_the_newest_backup_counts(records: Records, tmp_path: Path) -> None:
    record(records, tmp_path, at=MADE - timedelta(hours=5))
    newest = record(records, tmp_path, at=MADE)
    result = check(records, ManualClock(start=MADE + timedelta(minutes=10))).probe()
    assert result.status == "pass"
    assert newest.id in result.evidence
