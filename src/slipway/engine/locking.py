"""The environment's lock as people and waiting runners see it.

``take`` is how a runner gets the lock: at once, or — with a ``LockWait`` (``slipway deploy
--lock-wait 15m``) — queued behind whoever holds it, saying who that is and since when, and
taking it when its turn comes: first come, first served (``store/queue.py``). With
``supersede``, a request that a newer one for the same environment queued behind while it
waited steps aside (``Superseded``, exit 4): CI's older commit does not deploy after a newer.

``status``, ``acquire_by_hand`` and ``release`` are ``slipway lock status | acquire | release``:
a person may hold an environment (no deployment starts until they release it), and may
release a lock by force — a runner's too, which is then fenced out at its next write — and
every forced release is recorded with who and why.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from slipway.clock import Clock
from slipway.errors import LockedError, Superseded, UsageError
from slipway.spec.environment import Environment
from slipway.store import Fence, Lock, LockEntry, QueuedRunner, Store, runner_alive, this_runner
from slipway.store.leases import manual_holder

POLL_S = 0.1  # how often a waiter looks at the lock (reads; it writes only to take it)
MANUAL = "manual"  # the deployment id of a lock a person holds


@dataclass(frozen=True)
class LockWait:
    """Wait up to ``timeout_s`` for the lock, in order; ``supersede``: step aside for a newer
    request of the same environment queued meanwhile."""

    timeout_s: float
    supersede: bool = False


@dataclass(frozen=True)
class Claim:
    """Who takes the lock, for what."""

    deployment_id: str
    ttl_s: float
    holder: str = field(default_factory=this_runner)
    who: str | None = None
    os_user: str | None = None
    version: str | None = None


def describe(lock: Lock) -> str:
    """``deployment 2026…-a1b2 for alice (runner build-7:4121, since …)``."""
    who = f" for {lock.who}" if lock.who else ""
    if lock.deployment_id == MANUAL:
        note = f": {lock.note}" if lock.note else ""
        host = lock.holder.split(":")[0]
        return f"held by hand{who} on {host} since {lock.acquired_at}{note}"
    return f"deployment {lock.deployment_id}{who} (runner {lock.holder}, since {lock.acquired_at})"


def take(
    env: Environment,
    store: Store,
    claim: Claim,
    *,
    wait: LockWait | None,
    clock: Clock,
    say: Callable[[str], None],
) -> Fence:
    """The lock for ``claim``: at once, or after waiting in the queue."""
    try:
        return _acquire(env, store, claim, waiter=None)
    except LockedError:
        if wait is None:
            raise
    place = store.enqueue(
        env.app, env.name, ttl_s=claim.ttl_s, holder=claim.holder, who=claim.who,
        version=claim.version,
    )  # fmt: skip
    try:
        return _wait_turn(env, store, claim, place, wait=wait, clock=clock, say=say)
    finally:
        store.leave_queue(place)  # already gone when the lock was taken


def _wait_turn(
    env: Environment,
    store: Store,
    claim: Claim,
    place: int,
    *,
    wait: LockWait,
    clock: Clock,
    say: Callable[[str], None],
) -> Fence:
    deadline = clock.monotonic() + wait.timeout_s
    renew_at = clock.monotonic() + claim.ttl_s / 3
    said = ""
    while True:
        held = store.lock(env.app, env.name)
        queue = store.queue(env.app, env.name)
        ahead = [w for w in queue if w.id < place]
        if wait.supersede:
            _step_aside_for(env, claim, [w for w in queue if w.id > place])
        if not ahead and (held is None or _stale(store, held)):
            try:
                return _acquire(env, store, claim, waiter=place)
            except LockedError:
                pass  # someone was quicker (a takeover): look again
        message = _waiting_message(env, held, ahead)
        if message != said:
            say(message)
            said = message
        if clock.monotonic() > deadline:
            raise LockedError(
                f"{env.app}/{env.name}: still locked after waiting {wait.timeout_s:g}s — "
                + (describe(held) if held else f"{len(ahead)} deployment(s) queued before"),
                hint="wait longer with --lock-wait, or see `slipway lock status`",
            )
        if clock.monotonic() > renew_at:
            store.keep_waiting(place, ttl_s=claim.ttl_s)
            renew_at = clock.monotonic() + claim.ttl_s / 3
        clock.sleep(POLL_S)


def _acquire(env: Environment, store: Store, claim: Claim, *, waiter: int | None) -> Fence:
    return store.acquire_lock(
        env.app, env.name, deployment_id=claim.deployment_id, ttl_s=claim.ttl_s,
        holder=claim.holder, who=claim.who, os_user=claim.os_user, waiter=waiter,
    )  # fmt: skip


def _stale(store: Store, held: Lock) -> bool:
    return runner_alive(held.holder) is False or held.expires_at < store.now()


def _step_aside_for(env: Environment, claim: Claim, behind: list[QueuedRunner]) -> None:
    newer = [w for w in behind if w.version is not None]
    if newer:
        latest = newer[-1]
        by = f" by {latest.who}" if latest.who else ""
        raise Superseded(
            f"{claim.version} was not deployed to {env.app}/{env.name}: superseded by "
            f"{latest.version}, queued{by} at {latest.enqueued_at}; nothing was touched"
        )


def _waiting_message(env: Environment, held: Lock | None, ahead: list[QueuedRunner]) -> str:
    where = f"{env.app}/{env.name}"
    first = f"waiting for {where}: " + (describe(held) if held else "free")
    if ahead:
        first += f"; {len(ahead)} queued before this one"
    return first


# what people do with the lock


@dataclass(frozen=True)
class LockStatus:
    app: str
    environment: str
    lock: Lock | None
    alive: bool | None  # the holder's process: None when it runs on another machine
    expired: bool
    queue: list[QueuedRunner]
    log: list[LockEntry]


def status(env: Environment, store: Store) -> LockStatus:
    held = store.lock(env.app, env.name)
    return LockStatus(
        app=env.app,
        environment=env.name,
        lock=held,
        alive=runner_alive(held.holder) if held and held.deployment_id != MANUAL else None,
        expired=bool(held and held.expires_at < store.now()),
        queue=store.queue(env.app, env.name),
        log=store.lock_log(env.app, env.name, limit=10),
    )


def acquire_by_hand(
    env: Environment, store: Store, *, who: str, note: str | None, os_user: str | None
) -> Lock:
    """A person holds the environment: no deployment starts until it is released."""
    store.acquire_lock(
        env.app, env.name, deployment_id=MANUAL, ttl_s=0, holder=manual_holder(who),
        who=who, os_user=os_user, note=note,
    )  # fmt: skip
    held = store.lock(env.app, env.name)
    assert held is not None
    return held


def release(
    env: Environment,
    store: Store,
    *,
    who: str,
    force: bool = False,
    reason: str | None = None,
    os_user: str | None = None,
) -> Lock | None:
    """Release a lock held by hand; with ``force``, any lock (recorded with who and why)."""
    held = store.lock(env.app, env.name)
    if held is None:
        return None
    if held.deployment_id == MANUAL and not force:
        store.release_lock(env.app, env.name, token=held.token, holder=held.holder)
        return held
    if not force:
        raise UsageError(
            f"{env.app}/{env.name} is held by {describe(held)}",
            hint="let it finish, `slipway abort` it, or `slipway lock release --force -m WHY` "
            "(its runner then stops at its next step; `slipway resume` finishes)",
        )
    if not reason or len(reason.strip()) < 3:
        raise UsageError("a forced release needs a reason", hint="add -m 'why'")
    by = f"{who} on {socket.gethostname()}"
    store.force_release(env.app, env.name, who=who, reason=reason, os_user=os_user)
    if held.deployment_id != MANUAL:
        store.event(
            held.deployment_id,
            f"lock released by force by {by}: {reason}",
            level="warning",
        )
    return held
