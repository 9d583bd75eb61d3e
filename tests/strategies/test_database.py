"""The database's steps in a plan, as data: backup always, rehearsal when asked, migration."""

from __future__ import annotations

from slipway.spec.database import DatabaseSpec
from slipway.strategies.database import database_steps, restore_steps

MIGRATE = {"command": ["python3", "manage.py", "migrate"]}


def kinds(database: DatabaseSpec | None) -> list[str]:
    return [s.kind for s in database_steps(database, version="v2", first_group=2)]


def test_no_database_no_steps() -> None:
    assert kinds(None) == []


def test_backup_only_without_a_migration() -> None:
    assert kinds(DatabaseSpec()) == ["backup_database"]


def test_backup_rehearsal_then_migration_each_in_its_own_group() -> None:
    steps = database_steps(DatabaseSpec(migrate=MIGRATE), version="v2", first_group=2)  # type: ignore[arg-type]
    assert [s.kind for s in steps] == ["backup_database", "rehearse_migration", "migrate_database"]
    assert [s.group for s in steps] == [3, 4, 5]
    assert all(s.params.as_dict() == {"version": "v2"} for s in steps)


def test_rehearsal_can_be_turned_off() -> None:
    spec = DatabaseSpec(migrate=MIGRATE, rehearse=False)  # type: ignore[arg-type]
    assert kinds(spec) == ["backup_database", "migrate_database"]


def test_restore_says_what_it_loses() -> None:
    [step] = restore_steps("bk-1", created_at="2026-11-23T10:00:00.000Z", first_group=7)
    assert (
        step.kind == "restore_database"
        and step.params.as_dict() == {"backup": "bk-1", "confirmed_by": None}
        and step.group == 8
    )
    assert "loses data written since 2026-11-23T10:00:00.000Z" in step.description
