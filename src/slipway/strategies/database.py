"""The database's steps in a plan: back up, rehearse the migration, migrate; and a restore.

Pure, like the strategies: a spec in, steps out. They run after the release is
prepared and before any instance changes, so that a backup that cannot be
verified or a rehearsal that fails stops the deployment with nothing touched
(No-Go). The migration is the first step that changes production; a Go/No-Go
gate belongs right before it. ``restore_steps`` is for after a rollback, and
only behind a gate a person answers: a restore loses what was written since
the backup.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.database import DatabaseSpec
from slipway.spec.media import MediaSpec
from slipway.steps import Gate, OfVersion, Restore, Step, StepList


def database_steps(
    database: DatabaseSpec | None,
    *,
    version: str,
    first_group: int,
    media: MediaSpec | None = None,
) -> list[Step]:
    """Backups (the database's, the media's), the rehearsal, the migration."""
    plan = StepList(_group=first_group)
    if database is not None:
        plan.one(
            "backup_database", OfVersion(version), "back up the database (pg_dump -Fc), verify it"
        )
    if media is not None:
        plan.one(
            "backup_media",
            OfVersion(version),
            f"back up the media ({media.path}: tar and sha256 manifest), verify it",
        )
    if database is None:
        return plan.steps
    if database.migrate is not None:
        if database.rehearse:
            plan.one(
                "rehearse_migration",
                OfVersion(version),
                f"rehearse the migration of {version} on a restored copy",
            )
        plan.one("migrate_database", OfVersion(version), f"migrate the database for {version}")
    return plan.steps


def restore_steps(
    backup_id: str,
    *,
    created_at: str,
    first_group: int,
    gate_timeout_s: float | None = None,
    approvers: Sequence[str] = (),
) -> list[Step]:
    """Restore ``backup_id``; with ``gate_timeout_s``, only if a person confirms at a gate
    first (``slipway approve`` restores; ``reject``, or no answer in time, keeps the data)."""
    plan = StepList(_group=first_group)
    confirmed_by = None
    if gate_timeout_s is not None:
        plan.one(
            "gate",
            Gate(
                gate="confirm_restore",
                backup=backup_id,
                approvers=list(approvers),
                timeout_s=gate_timeout_s,
            ),
            f"restore {backup_id}? it loses what was written since {created_at}: "
            "`slipway approve` restores, `slipway reject` keeps the data",
        )
        confirmed_by = "confirm_restore"
    plan.one(
        "restore_database",
        Restore(backup_id, confirmed_by),
        f"restore the database from {backup_id} (loses data written since {created_at})",
    )
    return plan.steps
