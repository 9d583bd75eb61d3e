"""The runbook's records in the store: check runs, backups, rehearsals, notifications, drills,
and each deployment's spec digest and author.

They answer the runbook's acceptance criteria with evidence — "a successful
deployment with the current spec", "a rollback measured under 5 minutes",
"the last backup is younger than an hour and verified" — and feed the
history table of the rendered runbook. ``Records`` works on a ``Store``'s
connection, so it shares its transactions' lock and its migrations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, insert, select, update

from slipway.store.api import Store
from slipway.store.runbook_tables import (
    backups,
    check_runs,
    deployment_notes,
    drills,
    notifications,
    rehearsals,
)

#: what a media backup records as its ``database``: ``media:<directory>``
MEDIA = "media:"


@dataclass(frozen=True)
class DeploymentNote:
    deployment_id: str
    spec_digest: str
    who: str | None
    commit_id: str | None
    changes: list[str]
    commit_at: str | None = None  # the commit's time (ISO-8601 UTC), when known


@dataclass(frozen=True)
class CheckRun:
    id: int
    app: str
    environment: str
    deployment_id: str | None
    purpose: str
    version: str | None
    at: str
    verdict: str
    who: str | None
    override: str | None
    results: list[dict[str, Any]]


@dataclass(frozen=True)
class Backup:
    id: str
    app: str
    environment: str
    deployment_id: str | None
    database: str
    location: str
    size_bytes: int
    sha256: str
    created_at: str
    duration_s: float
    verified: bool
    verify_evidence: str | None


@dataclass(frozen=True)
class Rehearsal:
    id: int
    app: str
    environment: str
    deployment_id: str | None
    backup_id: str
    version: str | None
    at: str
    duration_s: float
    outcome: str
    output: str | None


@dataclass(frozen=True)
class Notification:
    id: int
    deployment_id: str | None
    channel: str
    event: str
    at: str
    status: str
    attempts: int
    error: str | None


@dataclass(frozen=True)
class Drill:
    id: int
    app: str
    environment: str
    at: str
    version: str
    back_to: str
    deploy_id: str
    rollback_id: str | None
    rollback_s: float | None
    outcome: str
    spec_digest: str | None


class Records:
    """Reads and writes the runbook's records through ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # deployment notes

    def note_deployment(
        self,
        deployment_id: str,
        *,
        spec_digest: str,
        who: str | None,
        commit_id: str | None = None,
        changes: list[str] | None = None,
        commit_at: str | None = None,
    ) -> None:
        """Idempotent: a resumed deployment keeps its first note."""
        if self.deployment_note(deployment_id) is not None:
            return
        with self.store._write() as conn:
            conn.execute(
                insert(deployment_notes).values(
                    deployment_id=deployment_id,
                    spec_digest=spec_digest,
                    who=who,
                    commit_id=commit_id,
                    commit_at=commit_at,
                    changes=json.dumps(changes or []),
                )
            )

    def deployment_note(self, deployment_id: str) -> DeploymentNote | None:
        query = select(deployment_notes).where(deployment_notes.c.deployment_id == deployment_id)
        with self.store._read() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        values = row._asdict()
        return DeploymentNote(**{**values, "changes": json.loads(values["changes"] or "[]")})

    def deployment_notes(self, deployment_ids: list[str]) -> dict[str, DeploymentNote]:
        if not deployment_ids:
            return {}
        query = select(deployment_notes).where(deployment_notes.c.deployment_id.in_(deployment_ids))
        with self.store._read() as conn:
            rows = [r._asdict() for r in conn.execute(query)]
        return {
            r["deployment_id"]: DeploymentNote(**{**r, "changes": json.loads(r["changes"] or "[]")})
            for r in rows
        }

    # check runs

    def add_check_run(
        self,
        *,
        app: str,
        environment: str,
        purpose: str,
        verdict: str,
        results: list[dict[str, Any]],
        version: str | None = None,
        deployment_id: str | None = None,
        who: str | None = None,
        override: str | None = None,
    ) -> int:
        with self.store._write() as conn:
            result = conn.execute(
                insert(check_runs).values(
                    app=app,
                    environment=environment,
                    deployment_id=deployment_id,
                    purpose=purpose,
                    version=version,
                    at=self.store.now(),
                    verdict=verdict,
                    who=who,
                    override=override,
                    results=json.dumps(results, sort_keys=True),
                )
            )
            key = result.inserted_primary_key
            return int(key[0]) if key else 0

    def link_check_run(self, run_id: int, deployment_id: str) -> None:
        """The deployment that a pre-flight run let through."""
        with self.store._write() as conn:
            conn.execute(
                update(check_runs)
                .where(check_runs.c.id == run_id)
                .values(deployment_id=deployment_id)
            )

    def check_runs(self, app: str, environment: str, *, limit: int = 20) -> list[CheckRun]:
        rows = self._newest(check_runs, app, environment, limit)
        return [CheckRun(**{**r, "results": json.loads(r["results"])}) for r in rows]

    # backups

    def new_backup_id(self) -> str:
        return f"bk-{self.store.new_deployment_id()}"

    def add_backup(self, backup: Backup) -> None:
        with self.store._write() as conn:
            conn.execute(insert(backups).values(**backup.__dict__))

    def backups(self, app: str, environment: str, *, limit: int = 20) -> list[Backup]:
        rows = self._newest(
            backups, app, environment, limit, backups.c.created_at.desc(), backups.c.id.desc()
        )
        return [Backup(**r) for r in rows]

    def backup(self, backup_id: str) -> Backup | None:
        with self.store._read() as conn:
            row = conn.execute(select(backups).where(backups.c.id == backup_id)).one_or_none()
        return Backup(**row._asdict()) if row is not None else None

    def last_backup(self, app: str, environment: str, *, media: bool = False) -> Backup | None:
        """The last backup of the database, or of the media (``database`` says ``media:…``,
        what was backed up)."""
        for found in self.backups(app, environment, limit=50):
            if found.database.startswith(MEDIA) == media:
                return found
        return None

    # rehearsals

    def add_rehearsal(
        self,
        *,
        app: str,
        environment: str,
        backup_id: str,
        duration_s: float,
        outcome: str,
        output: str | None,
        version: str | None = None,
        deployment_id: str | None = None,
    ) -> None:
        with self.store._write() as conn:
            conn.execute(
                insert(rehearsals).values(
                    app=app,
                    environment=environment,
                    deployment_id=deployment_id,
                    backup_id=backup_id,
                    version=version,
                    at=self.store.now(),
                    duration_s=duration_s,
                    outcome=outcome,
                    output=output,
                )
            )

    def rehearsals(self, app: str, environment: str, *, limit: int = 20) -> list[Rehearsal]:
        return [Rehearsal(**r) for r in self._newest(rehearsals, app, environment, limit)]

    # notifications

    def add_notification(
        self,
        *,
        deployment_id: str | None,
        channel: str,
        event: str,
        status: str,
        attempts: int,
        error: str | None,
    ) -> None:
        with self.store._write() as conn:
            conn.execute(
                insert(notifications).values(
                    deployment_id=deployment_id,
                    channel=channel,
                    event=event,
                    at=self.store.now(),
                    status=status,
                    attempts=attempts,
                    error=error,
                )
            )

    def notifications(self, deployment_id: str) -> list[Notification]:
        query = (
            select(notifications)
            .where(notifications.c.deployment_id == deployment_id)
            .order_by(notifications.c.id)
        )
        with self.store._read() as conn:
            return [Notification(**r._asdict()) for r in conn.execute(query)]

    # drills

    def add_drill(
        self,
        *,
        app: str,
        environment: str,
        version: str,
        back_to: str,
        deploy_id: str,
        rollback_id: str | None,
        rollback_s: float | None,
        outcome: str,
        spec_digest: str | None,
    ) -> None:
        with self.store._write() as conn:
            conn.execute(
                insert(drills).values(
                    app=app,
                    environment=environment,
                    at=self.store.now(),
                    version=version,
                    back_to=back_to,
                    deploy_id=deploy_id,
                    rollback_id=rollback_id,
                    rollback_s=rollback_s,
                    outcome=outcome,
                    spec_digest=spec_digest,
                )
            )

    def drills(self, app: str, environment: str, *, limit: int = 20) -> list[Drill]:
        return [Drill(**r) for r in self._newest(drills, app, environment, limit)]

    def _newest(
        self, table: Table, app: str, environment: str, limit: int, *order: ColumnElement[Any]
    ) -> list[dict[str, Any]]:
        """One environment's latest ``limit`` rows of ``table`` (by ``order``, else newest id
        first): what every "recent …" question of the runbook asks."""
        query = (
            select(table)
            .where((table.c.app == app) & (table.c.environment == environment))
            .order_by(*(order or (table.c.id.desc(),)))
            .limit(limit)
        )
        with self.store._read() as conn:
            return [r._asdict() for r in conn.execute(query)]
