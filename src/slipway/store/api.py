"""The store: deployments, steps, events, locks and the current release of each environment.

SQLite (WAL, in the state directory) by default; any SQLAlchemy URL works, and
PostgreSQL is the one for teams. The schema is Alembic's: ``Store.open``
upgrades it to head before anything else runs.

Records are plain frozen dataclasses, so the engine, the CLI and a Python user
see the same thing and nothing holds a database session.

The environment lock is a lease with a fencing token (``store/leases.py``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import func, insert, select, update

from slipway.errors import StoreError
from slipway.store.analyses import AnalysesMixin
from slipway.store.base import MIGRATIONS, SCHEMA_HEAD, StoreBase, schema_revision
from slipway.store.flags import FlagsMixin
from slipway.store.hosts import HostReleasesMixin
from slipway.store.leases import LeasesMixin, Lock, runner_alive, this_runner
from slipway.store.queue import QueueMixin
from slipway.store.signals import SignalsMixin
from slipway.store.tables import deployments, events, steps
from slipway.store.tokens import TokensMixin

__all__ = [
    "MIGRATIONS",
    "SCHEMA_HEAD",
    "Lock",
    "Store",
    "runner_alive",
    "schema_revision",
    "this_runner",
]


class Status(StrEnum):
    """Where a deployment is: three states while it runs, five ways it ends (DESIGN.md)."""

    PENDING = "pending"
    RUNNING = "running"
    ROLLING_BACK = "rolling_back"
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    FAILED = "failed"
    NO_GO = "no_go"


ACTIVE = (Status.PENDING, Status.RUNNING, Status.ROLLING_BACK)


class _Unset(Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET  # a field update_deployment leaves as it is


@dataclass(frozen=True)
class Deployment:
    id: str
    app: str
    environment: str
    kind: str
    version: str
    previous_version: str | None
    release_digest: str | None
    strategy: str
    status: Status
    reason: str | None
    runner: str | None
    started_at: str
    ended_at: str | None
    rollback_started_at: str | None
    rollback_s: float | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class StepRecord:
    id: int
    deployment_id: str
    seq: int
    phase: str
    group_no: int
    kind: str
    params: dict[str, Any]
    description: str
    state: str
    attempts: int
    error: str | None
    result: dict[str, Any] | None
    started_at: str | None
    ended_at: str | None


@dataclass(frozen=True)
class Event:
    id: int
    deployment_id: str
    at: str
    level: str
    message: str
    data: dict[str, Any]


class Store(
    HostReleasesMixin,
    TokensMixin,
    FlagsMixin,
    LeasesMixin,
    QueueMixin,
    SignalsMixin,
    AnalysesMixin,
    StoreBase,
):
    """One handle on the store; safe to share between the engine's threads."""

    # deployments

    def new_deployment_id(self) -> str:
        """Sortable by time, unique enough for one team: ``20261122-160301-a1b2c3``."""
        return f"{self._clock.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"

    def create_deployment(
        self,
        *,
        deployment_id: str,
        app: str,
        environment: str,
        kind: str,
        version: str,
        previous_version: str | None,
        strategy: str,
        release_digest: str | None = None,
    ) -> Deployment:
        row = {
            "id": deployment_id,
            "app": app,
            "environment": environment,
            "kind": kind,
            "version": version,
            "previous_version": previous_version,
            "release_digest": release_digest,
            "strategy": strategy,
            "status": "pending",
            "runner": this_runner(),
            "started_at": self.now(),
        }
        with self._write() as conn:
            conn.execute(insert(deployments).values(**row))
        return self.deployment(deployment_id)

    def update_deployment(
        self,
        deployment_id: str,
        *,
        status: Status | str | _Unset = UNSET,
        reason: str | _Unset | None = UNSET,
        runner: str | _Unset = UNSET,
        release_digest: str | _Unset = UNSET,
        ended_at: str | _Unset = UNSET,
        rollback_started_at: str | _Unset = UNSET,
        rollback_s: float | _Unset | None = UNSET,
    ) -> None:
        """Set the fields given (and only those) of one deployment."""
        given = {
            "status": None if status is UNSET else Status(status).value,
            "reason": reason,
            "runner": runner,
            "release_digest": release_digest,
            "ended_at": ended_at,
            "rollback_started_at": rollback_started_at,
            "rollback_s": rollback_s,
        }
        values = {k: v for k, v in given.items() if v is not UNSET}
        if values.get("status", "") is None:
            del values["status"]
        if not values:
            return
        with self._write() as conn:
            conn.execute(
                update(deployments).where(deployments.c.id == deployment_id).values(values)
            )

    def deployment(self, deployment_id: str) -> Deployment:
        with self._read() as conn:
            row = conn.execute(
                select(deployments).where(deployments.c.id == deployment_id)
            ).one_or_none()
        if row is None:
            raise StoreError(f"no deployment {deployment_id!r}")
        return _deployment(row._asdict())

    def find_deployment(self, prefix: str) -> Deployment | None:
        """A deployment by id or unique id prefix (``slipway logs 20261122``)."""
        with self._read() as conn:
            rows = conn.execute(
                select(deployments)
                .where(deployments.c.id.startswith(prefix, autoescape=True))
                .limit(2)
            ).all()
        return _deployment(rows[0]._asdict()) if len(rows) == 1 else None

    def deployments(
        self, app: str, environment: str | None = None, *, limit: int = 20
    ) -> list[Deployment]:
        query = select(deployments).where(deployments.c.app == app)
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        query = query.order_by(deployments.c.started_at.desc()).limit(limit)
        with self._read() as conn:
            return [_deployment(r._asdict()) for r in conn.execute(query)]

    def deployments_since(
        self, app: str, environment: str | None = None, *, since: str
    ) -> list[Deployment]:
        """Every deployment of ``app`` (one environment, or all) started since ``since``
        (ISO-8601 UTC), oldest first."""
        query = select(deployments).where(
            (deployments.c.app == app) & (deployments.c.started_at >= since)
        )
        if environment is not None:
            query = query.where(deployments.c.environment == environment)
        with self._read() as conn:
            rows = conn.execute(query.order_by(deployments.c.started_at))
            return [_deployment(r._asdict()) for r in rows]

    def deployments_page(
        self,
        app: str,
        *,
        environments: Sequence[str],
        status: str | None = None,
        before: tuple[str, str] | None = None,
        limit: int = 50,
    ) -> list[Deployment]:
        """Newest first, in ``environments``, optionally of one ``status``, started before
        ``before`` (the (started_at, id) of the last one of the previous page: a keyset, so a
        page stays right while deployments are added)."""
        c = deployments.c
        query = select(deployments).where((c.app == app) & c.environment.in_(environments))
        if status is not None:
            query = query.where(c.status == status)
        if before is not None:
            at, last = before
            query = query.where((c.started_at < at) | ((c.started_at == at) & (c.id < last)))
        query = query.order_by(c.started_at.desc(), c.id.desc()).limit(limit)
        with self._read() as conn:
            return [_deployment(r._asdict()) for r in conn.execute(query)]

    # steps

    def add_steps(self, deployment_id: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append steps: dicts of seq, phase, group_no, kind, params and description."""
        with self._write() as conn:
            for row in rows:
                conn.execute(
                    insert(steps).values(
                        deployment_id=deployment_id,
                        state="pending",
                        attempts=0,
                        **{**row, "params": json.dumps(row["params"], sort_keys=True)},
                    )
                )

    def set_step(self, step_id: int, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(update(steps).where(steps.c.id == step_id).values(values))

    def steps(self, deployment_id: str) -> list[StepRecord]:
        query = select(steps).where(steps.c.deployment_id == deployment_id).order_by(steps.c.seq)
        with self._read() as conn:
            return [_step(r._asdict()) for r in conn.execute(query)]

    def steps_of(
        self, deployment_ids: Sequence[str], *, kinds: Sequence[str]
    ) -> dict[str, list[StepRecord]]:
        """The steps of ``kinds`` of many deployments in one query (a history's figures)."""
        found: dict[str, list[StepRecord]] = {d: [] for d in deployment_ids}
        for start in range(0, len(deployment_ids), 500):  # bounded IN lists
            query = select(steps).where(
                steps.c.deployment_id.in_(deployment_ids[start : start + 500])
                & steps.c.kind.in_(kinds)
            )
            with self._read() as conn:
                for r in conn.execute(query.order_by(steps.c.seq)):
                    found[r.deployment_id].append(_step(r._asdict()))
        return found

    # events

    def event(self, deployment_id: str, message: str, *, level: str = "info", **data: Any) -> None:
        with self._write() as conn:
            conn.execute(
                insert(events).values(
                    deployment_id=deployment_id,
                    at=self.now(),
                    level=level,
                    message=message,
                    data=json.dumps(data, sort_keys=True, default=str) if data else None,
                )
            )

    def events(self, deployment_id: str) -> list[Event]:
        query = select(events).where(events.c.deployment_id == deployment_id)
        with self._read() as conn:
            return [_event(r._asdict()) for r in conn.execute(query.order_by(events.c.id))]

    def events_after(
        self, after: int, *, app: str | None = None, limit: int = 500
    ) -> list[tuple[Event, str, str]]:
        """Events past ``after`` (of ``app``, or of all), oldest first, with their deployment's
        app and environment: what live pages follow. Ids are the store's sequence numbers."""
        query = (
            select(events, deployments.c.app, deployments.c.environment)
            .join(deployments, deployments.c.id == events.c.deployment_id)
            .where(events.c.id > after)
        )
        if app is not None:
            query = query.where(deployments.c.app == app)
        with self._read() as conn:
            rows = [r._asdict() for r in conn.execute(query.order_by(events.c.id).limit(limit))]
        return [
            (
                _event({k: v for k, v in r.items() if k not in ("app", "environment")}),
                r["app"],
                r["environment"],
            )
            for r in rows
        ]

    def last_event_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def _deployment(row: Mapping[str, Any]) -> Deployment:
    return Deployment(**{**row, "status": Status(row["status"])})


def _step(row: Mapping[str, Any]) -> StepRecord:
    result = row["result"]
    return StepRecord(
        **{
            **row,
            "params": json.loads(row["params"]),
            "result": json.loads(result) if result else None,
        }
    )


def _event(row: Mapping[str, Any]) -> Event:
    return Event(**{**row, "data": json.loads(row["data"]) if row["data"] else {}})
