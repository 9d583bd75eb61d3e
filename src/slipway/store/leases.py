"""The environment's lock: a lease with a fencing token, and the queue of runners waiting for it.

One row per environment. A runner takes it (``acquire_lock``) and gets a ``Fence``: the row's
*token*, which grows by one at every acquisition and is never handed out twice (the row stays
when the lock is released, with no holder). The holder renews its lease every third of its
time to live; a runner that stops renewing — killed, paused, cut off — loses it once it has
expired (at once when the holder is a process of this host that no longer exists), and the
next runner takes it over with a newer token.

Taking the lock is a compare-and-set on the token, so two runners cannot both win. Every
write a runner makes for its deployment goes through a store *fenced* with its token
(``Store.fenced``): the same transaction first checks that the token is still the newest and
that the lease is still this runner's, and holds the row while it writes, so a runner that
lost its lease — however long it was paused — cannot write one more transition
(``LeaseLost``). See the README, *Leases and fencing*, for what this guarantees and what not.

Waiting (``slipway deploy --lock-wait``) is a queue: a waiter enqueues itself, keeps its
place alive while it waits, and takes the lock only when it is first among the live waiters.
Everything that happens to a lease — taken, taken over, released, released by force with who
and why — is in ``lock_log``.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from slipway.clock import utc_iso
from slipway.errors import LockedError, StoreError
from slipway.store.base import Fence, StoreBase
from slipway.store.tables import lock_log, lock_waiters, locks

NEVER = "9999-12-31T00:00:00Z"  # a person's lock (`slipway lock acquire`) does not expire


@dataclass(frozen=True)
class Lock:
    deployment_id: str
    holder: str
    acquired_at: str
    expires_at: str
    token: int = 0
    who: str | None = None
    os_user: str | None = None
    note: str | None = None

    @property
    def manual(self) -> bool:
        """Taken by a person (``slipway lock acquire``), not by a running deployment."""
        return ":manual:" in self.holder


@dataclass(frozen=True)
class LockEntry:
    id: int
    app: str
    environment: str
    at: str
    action: str
    token: int
    holder: str | None
    deployment_id: str | None
    who: str | None
    os_user: str | None
    note: str | None


def this_runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def manual_holder(who: str) -> str:
    return f"{socket.gethostname()}:manual:{who}"


def runner_alive(holder: str | None) -> bool | None:
    """Whether the runner ``host:pid`` lives; None when it is on another host (we cannot tell)."""
    if not holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LeasesMixin(StoreBase):
    def lock(self, app: str, environment: str) -> Lock | None:
        """The lease as it is, or None when nobody holds it."""
        with self._read() as conn:
            return _held(conn, app, environment)

    def acquire_lock(
        self,
        app: str,
        environment: str,
        *,
        deployment_id: str,
        ttl_s: float,
        holder: str | None = None,
        who: str | None = None,
        os_user: str | None = None,
        note: str | None = None,
        waiter: int | None = None,
    ) -> Fence:
        """Take the lock (or relabel our own), or raise ``LockedError`` naming who holds it
        and since when. ``waiter``: our place in the queue; without one, a lock that others
        are queueing for is not free."""
        holder = holder or this_runner()
        now = self._clock.now()
        expires = NEVER if ":manual:" in holder else utc_iso(now + timedelta(seconds=ttl_s))
        values: dict[str, str | None] = {
            "deployment_id": deployment_id,
            "holder": holder,
            "who": who,
            "os_user": os_user,
            "note": note,
            "acquired_at": utc_iso(now),
            "expires_at": expires,
        }
        for _ in range(2):  # a first row inserted by another runner at the same time: read it
            try:
                with self._write(fenced=False) as conn:
                    return self._take(conn, app, environment, values, waiter, now)
            except StoreError as exc:
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
        raise LockedError(f"{app}/{environment} was locked by another runner just now")

    def _take(
        self,
        conn: Connection,
        app: str,
        environment: str,
        values: dict[str, str | None],
        waiter: int | None,
        now: datetime,
    ) -> Fence:
        holder = str(values["holder"])
        row = conn.execute(select(locks).where(_env(app, environment))).one_or_none()
        held = _held(conn, app, environment)
        if held is not None and held.holder == holder:  # our own: a new label, same token
            conn.execute(
                update(locks)
                .where(_env(app, environment) & (locks.c.token == held.token))
                .values(deployment_id=values["deployment_id"], expires_at=values["expires_at"])
            )
            return Fence(app, environment, held.token, holder)
        if held is not None and not self._stale(held, now):
            raise LockedError(_locked_message(app, environment, held))
        self._check_turn(conn, app, environment, waiter, now)
        if row is None:
            token = 1
            conn.execute(insert(locks).values(app=app, environment=environment, token=1, **values))
        else:
            token = row.token + 1
            taken = conn.execute(
                update(locks)
                .where(_env(app, environment) & (locks.c.token == row.token))
                .values(token=token, **values)
            ).rowcount
            if taken != 1:
                raise LockedError(f"{app}/{environment} was locked by another runner just now")
        if held is None:
            _log(conn, app, environment, now, "acquired", token, values, values["note"])
        else:
            previous = f"from {held.holder} (lease until {held.expires_at})"
            _log(conn, app, environment, now, "taken_over", token, values, previous)
        if waiter is not None:
            conn.execute(delete(lock_waiters).where(lock_waiters.c.id == waiter))
        return Fence(app, environment, token, holder)

    def _check_turn(
        self, conn: Connection, app: str, environment: str, waiter: int | None, now: datetime
    ) -> None:
        ahead = select(func.count()).where(
            (lock_waiters.c.app == app)
            & (lock_waiters.c.environment == environment)
            & (lock_waiters.c.seen_until >= utc_iso(now))
        )
        if waiter is not None:
            ahead = ahead.where(lock_waiters.c.id < waiter)
        count = conn.execute(ahead).scalar_one()
        if count:
            raise LockedError(
                f"{app}/{environment} is free, but {count} deployment(s) queued before"
                + (" this one" if waiter is not None else "")
                + " come first",
                hint="wait your turn with `slipway deploy --lock-wait 15m`",
            )

    def _stale(self, held: Lock, now: datetime) -> bool:
        if runner_alive(held.holder) is False:
            return True
        return held.expires_at < utc_iso(now)

    def renew_lock(
        self,
        app: str,
        environment: str,
        *,
        ttl_s: float,
        token: int | None = None,
        holder: str | None = None,
    ) -> bool:
        """Extend our lease; False if the lock is no longer ours (or no longer ``token``)."""
        expires = utc_iso(self._clock.now() + timedelta(seconds=ttl_s))
        where = _env(app, environment) & (locks.c.holder == (holder or this_runner()))
        if token is not None:
            where = where & (locks.c.token == token)
        with self._write(fenced=False) as conn:
            return conn.execute(update(locks).where(where).values(expires_at=expires)).rowcount == 1

    def release_lock(
        self, app: str, environment: str, *, token: int | None = None, holder: str | None = None
    ) -> bool:
        """Let go of our lease (the token stays, for the next holder to go past)."""
        where = _env(app, environment) & (locks.c.holder == (holder or this_runner()))
        if token is not None:
            where = where & (locks.c.token == token)
        with self._write(fenced=False) as conn:
            held = _held(conn, app, environment)
            if (
                held is None
                or conn.execute(update(locks).where(where).values(**_FREE)).rowcount != 1
            ):
                return False
            values = {"holder": held.holder, "deployment_id": held.deployment_id, "who": held.who}
            _log(conn, app, environment, self._clock.now(), "released", held.token, values, None)
            return True

    def force_release(
        self, app: str, environment: str, *, who: str, reason: str, os_user: str | None = None
    ) -> Lock | None:
        """Release whoever holds the lock (``slipway lock release --force``), recording who
        did and why; the holder, if it runs, is fenced out at its next write."""
        with self._write(fenced=False) as conn:
            held = _held(conn, app, environment)
            if held is None:
                return None
            conn.execute(
                update(locks)
                .where(_env(app, environment) & (locks.c.token == held.token))
                .values(**_FREE)
            )
            values = {
                "holder": held.holder,
                "deployment_id": held.deployment_id,
                "who": who,
                "os_user": os_user,
            }
            _log(conn, app, environment, self._clock.now(), "forced", held.token, values, reason)
            return held

    def lock_log(self, app: str, environment: str, *, limit: int = 20) -> list[LockEntry]:
        """What happened to the lease, newest first."""
        query = (
            select(lock_log)
            .where((lock_log.c.app == app) & (lock_log.c.environment == environment))
            .order_by(lock_log.c.id.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [LockEntry(**r._asdict()) for r in conn.execute(query)]


_FREE = {
    "deployment_id": None,
    "holder": None,
    "who": None,
    "os_user": None,
    "note": None,
    "acquired_at": None,
    "expires_at": None,
}


def _env(app: str, environment: str):  # type: ignore[no-untyped-def]
    return (locks.c.app == app) & (locks.c.environment == environment)


def _held(conn: Connection, app: str, environment: str) -> Lock | None:
    row = conn.execute(select(locks).where(_env(app, environment))).one_or_none()
    if row is None or row.holder is None:
        return None
    return Lock(
        deployment_id=row.deployment_id,
        holder=row.holder,
        acquired_at=row.acquired_at,
        expires_at=row.expires_at,
        token=row.token,
        who=row.who,
        os_user=row.os_user,
        note=row.note,
    )


def _log(
    conn: Connection,
    app: str,
    environment: str,
    at: datetime,
    action: str,
    token: int,
    values: dict[str, str | None],
    note: str | None,
) -> None:
    conn.execute(
        insert(lock_log).values(
            app=app,
            environment=environment,
            at=utc_iso(at),
            action=action,
            token=token,
            holder=values.get("holder"),
            deployment_id=values.get("deployment_id"),
            who=values.get("who"),
            os_user=values.get("os_user"),
            note=note,
        )
    )


def _locked_message(app: str, environment: str, held: Lock) -> str:
    who = f" for {held.who}" if held.who else ""
    if held.manual:
        note = f": {held.note}" if held.note else ""
        return (
            f"{app}/{environment} is locked by hand{who} (on {held.holder.split(':')[0]}, "
            f"since {held.acquired_at}){note}; `slipway lock release` frees it"
        )
    return (
        f"{app}/{environment} is locked by deployment {held.deployment_id}{who} "
        f"(runner {held.holder}, since {held.acquired_at}, lease until {held.expires_at})"
    )


__all__ = ["NEVER", "Fence", "Lock", "LockEntry"]
