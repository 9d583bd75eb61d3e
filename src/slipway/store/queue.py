"""The queue of runners waiting for an environment's lock (``slipway deploy --lock-wait``).

A waiter enqueues itself and keeps its place alive (``keep_waiting``) while it waits; a place
not renewed for its time to live is forgotten (the waiter died), so a dead waiter never blocks
the ones behind it. ``acquire_lock(…, waiter=id)`` takes the lock only for the first live
waiter, and removes its place in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select, update

from slipway.clock import utc_iso
from slipway.store.base import StoreBase
from slipway.store.leases import this_runner
from slipway.store.tables import lock_waiters


@dataclass(frozen=True)
class QueuedRunner:
    id: int
    holder: str
    who: str | None
    version: str | None
    enqueued_at: str


class QueueMixin(StoreBase):
    def enqueue(
        self, app: str, environment: str, *, ttl_s: float, holder: str | None = None,
        who: str | None = None, version: str | None = None,
    ) -> int:  # fmt: skip
        """Join the queue of runners waiting for the lock; our place's id."""
        now = self._clock.now()
        with self._write(fenced=False) as conn:
            key = conn.execute(
                insert(lock_waiters).values(
                    app=app,
                    environment=environment,
                    holder=holder or this_runner(),
                    who=who,
                    version=version,
                    enqueued_at=utc_iso(now),
                    seen_until=utc_iso(now + timedelta(seconds=ttl_s)),
                )
            ).inserted_primary_key
        assert key is not None
        return int(key[0])

    def keep_waiting(self, waiter: int, *, ttl_s: float) -> None:
        until = utc_iso(self._clock.now() + timedelta(seconds=ttl_s))
        with self._write(fenced=False) as conn:
            conn.execute(
                update(lock_waiters).where(lock_waiters.c.id == waiter).values(seen_until=until)
            )

    def leave_queue(self, waiter: int) -> None:
        with self._write(fenced=False) as conn:
            conn.execute(delete(lock_waiters).where(lock_waiters.c.id == waiter))

    def queue(self, app: str, environment: str) -> list[QueuedRunner]:
        """The live waiters, first come first."""
        query = (
            select(lock_waiters)
            .where(
                (lock_waiters.c.app == app)
                & (lock_waiters.c.environment == environment)
                & (lock_waiters.c.seen_until >= self.now())
            )
            .order_by(lock_waiters.c.id)
        )
        with self._read() as conn:
            return [
                QueuedRunner(r.id, r.holder, r.who, r.version, r.enqueued_at)
                for r in conn.execute(query)
            ]
