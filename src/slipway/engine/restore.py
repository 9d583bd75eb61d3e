"""After a rollback that follows a migration: restore the backup — if a person says so.

A restore loses every write since the backup, so it is never automatic: a gate asks
(``slipway approve`` restores, ``slipway reject`` or no answer keeps the data). The rollback
itself is already done and timed; the deployment stays active meanwhile so that the answer can
reach it.
"""

from __future__ import annotations

from slipway.spec.environment import Environment
from slipway.steps import Gate, MigrateBack, Step, StepList
from slipway.store import Deployment, StepRecord, Store
from slipway.store.records import Records
from slipway.strategies.database import restore_steps

RESTORE_GATE_TIMEOUT_S = 3600.0
MIGRATED = ("succeeded", "compensated")  # compensated: its deployment was rolled back


def restore_plan(env: Environment, store: Store, dep: Deployment) -> list[Step]:
    """What to offer after ``dep``'s rollback, behind a gate: migrating back when Django says
    every migration applied can be reversed (the data written meanwhile stays), else the
    restore of the backup; none when nothing calls for it."""
    database = env.database
    if database is None or database.restore_on_rollback != "ask":
        return []
    records = store.steps(dep.id)
    back = _migrate_back(env, dep, records)
    if back:
        return back
    migrated = any(
        r.kind == "migrate_database" and r.state in ("succeeded", "failed", "compensated")
        for r in records
    )
    backup = next(
        (r.result.get("backup") for r in records if r.kind == "backup_database" and r.result),
        None,
    )
    if not migrated or backup is None:
        return []
    made = Records(store).backup(str(backup))
    return restore_steps(
        str(backup),
        created_at=made.created_at if made else "the backup",
        first_group=0,
        gate_timeout_s=RESTORE_GATE_TIMEOUT_S,
        approvers=list(env.go_no_go.approvers) if env.go_no_go else [],
    )


def _migrate_back(env: Environment, dep: Deployment, records: list[StepRecord]) -> list[Step]:
    django = env.database.migrate.django if env.database and env.database.migrate else None
    if django is None or not django.migrate_back:
        return []
    migrated = next(
        (r for r in records if r.kind == "migrate_database" and r.state in MIGRATED), None
    )
    result = migrated.result if migrated is not None else None
    if not result or not result.get("reversible") or not result.get("targets"):
        return []
    targets = {str(a): str(t) for a, t in result["targets"].items()}
    said = ", ".join(f"migrate {a} {t}" for a, t in targets.items())
    plan = StepList()
    plan.one(
        "gate",
        Gate(
            gate="confirm_migrate_back",
            backup=said,
            approvers=list(env.go_no_go.approvers) if env.go_no_go else [],
            timeout_s=RESTORE_GATE_TIMEOUT_S,
        ),
        f"{said}? what the migrations of {dep.version} added goes, the rows stay: "
        "`slipway approve` migrates back, `slipway reject` leaves the schema",
    )
    plan.one(
        "migrate_back",
        MigrateBack(dep.version, targets, confirmed_by="confirm_migrate_back"),
        f"{said} (with the code of {dep.version})",
    )
    return plan.steps
