"""The environment lock's lease while a runner works, and the grouping of steps it runs.

The lock is a row in the store with an expiry and a fencing token (``store/leases.py``);
``Lease`` renews it in a thread, every third of its time to live, so that a live runner keeps
it and a dead one loses it, and releases it when the work is done.

It also answers, cheaply and without asking the store, "may I still change a target?"
(``check``, before every step): yes while the last renewal that succeeded was *sent* less than
five sixths of a time to live ago — an instant no other runner can have taken over before,
since the store's lease runs a whole time to live from then. Past that (the store unreachable,
the process paused), one renewal is tried on the spot; if it fails, ``LeaseLost``: the runner
stops changing anything within one lease period of losing the store, and says why. A renewal
that finds the lease gone (taken over, released by force) says so at the next check, and the
store refuses the runner's next write anyway.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from itertools import groupby

from slipway.clock import Clock
from slipway.errors import LeaseLost, SlipwayError, StoreError
from slipway.store import Fence, StepRecord, Store

SAFE_SHARE = 5 / 6  # of a time to live after a renewal was sent: still certainly ours


class Lease:
    """Renews the environment lock while the runner works; releases it at the end."""

    def __init__(self, store: Store, fence: Fence, *, clock: Clock, ttl_s: float) -> None:
        self._store = store
        self.fence = fence
        self._clock = clock
        self._ttl_s = ttl_s
        self._done = threading.Event()
        self._valid_until = clock.monotonic() + ttl_s * SAFE_SHARE
        self._lost: str | None = None  # why, once the store said the lease is not ours
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="slipway-lease", daemon=True)

    def _loop(self) -> None:
        interval = self._ttl_s / 3
        while not self._done.wait(interval):
            try:
                if not self.renew():
                    return
                interval = self._ttl_s / 3
            except SlipwayError as exc:  # the store busy or unreachable: try again sooner
                self._last_error = str(exc).splitlines()[0]
                interval = min(1.0, self._ttl_s / 6)

    def renew(self) -> bool:
        """One renewal; False (and the lease marked lost) when the store says it is not ours."""
        sent = self._clock.monotonic()
        f = self.fence
        if self._store.renew_lock(
            f.app, f.environment, ttl_s=self._ttl_s, token=f.token, holder=f.holder
        ):
            self._valid_until = max(self._valid_until, sent + self._ttl_s * SAFE_SHARE)
            self._last_error = None
            return True
        self._lost = "another runner took it over, or it was released by force"
        return False

    @property
    def lost(self) -> bool:
        return self._lost is not None

    def check(self) -> None:
        """Raise ``LeaseLost`` unless this runner certainly still holds the lease."""
        if self._lost is None and self._clock.monotonic() < self._valid_until:
            return
        if self._lost is None:
            try:
                if self.renew():
                    return
            except SlipwayError as exc:
                self._last_error = str(exc).splitlines()[0]
        f = self.fence
        why = self._lost or (
            f"it could not be renewed for {self._ttl_s * SAFE_SHARE:.1f}s"
            + (f" ({self._last_error})" if self._last_error else "")
        )
        raise LeaseLost(
            f"this runner's lease on {f.app}/{f.environment} (token {f.token}) is lost: {why}. "
            "It stops changing targets now",
            hint="once the store answers, `slipway resume` (from any machine) finishes or "
            "rolls back the deployment from what the store recorded",
        )

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        f = self.fence
        with contextlib.suppress(SlipwayError):  # the store unreachable: the lease expires
            self._store.release_lock(f.app, f.environment, token=f.token, holder=f.holder)


def stopped(exc: LeaseLost | StoreError) -> LeaseLost:
    """Why a runner stops where it is: its lease is gone, or the store it must write each
    transition to before acting no longer answers (so it may not act)."""
    if isinstance(exc, LeaseLost):
        return exc
    return LeaseLost(
        f"the store stopped answering ({str(exc).splitlines()[0]}): this runner cannot record "
        "what it would do, so it changes no target any more and stops here",
        hint="once the store answers, `slipway resume` (from any machine) finishes or rolls "
        "back the deployment from what the store recorded",
    )


def iter_groups(records: Sequence[StepRecord]) -> Iterator[list[StepRecord]]:
    """Consecutive steps of one phase and group: they may run in parallel."""
    for _, group in groupby(records, key=lambda r: (r.phase, r.group_no)):
        yield list(group)
