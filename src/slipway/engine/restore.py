"""After a rollback that follows a migration: restore the backup — if a person says so.

A restore loses every write since the backup, so it is never automatic: a gate asks
(``slipway approve`` restores, ``slipway reject`` or no answer keeps the data). The rollback
itself is already done and timed; the deployment stays active meanwhile so that the answer can
reach it.
"""

from __future__ import annotations

from slipway.spec.environment import Environment
from slipway.steps import Step
from slipway.store import Deployment, Store
from slipway.store.records import Records
from slipway.strategies.database import restore_steps

RESTORE_GATE_TIMEOUT_S = 3600.0


def restore_plan(env: Environment, store: Store, dep: Deployment) -> list[Step]:
    """The gated restore to offer after ``dep``'s rollback; none when nothing calls for it."""
    database = env.database
    if database is None or database.restore_on_rollback != "ask":
        return []
    records = store.steps(dep.id)
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
