"""The environment lock's lease while a runner works, and the grouping of steps it runs.

The lock is a row in the store with an expiry; ``Lease`` renews it in a thread
(every third of its time to live) so that a live runner keeps it and a dead one
loses it, and releases it when the work is done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from itertools import groupby

from slipway.clock import Clock
from slipway.errors import SlipwayError
from slipway.spec.environment import Environment
from slipway.store import StepRecord, Store

LEASE_TTL_S = 15.0


class Lease:
    """Renews the environment lock while the runner works; releases it at the end."""

    def __init__(
        self, store: Store, env: Environment, *, clock: Clock, on_lost: Callable[[], None]
    ) -> None:
        self._store = store
        self._env = env
        self._done = threading.Event()
        self._on_lost = on_lost
        self._thread = threading.Thread(target=self._renew, name="slipway-lease", daemon=True)

    def _renew(self) -> None:
        while not self._done.wait(LEASE_TTL_S / 3):
            try:
                if not self._store.renew_lock(self._env.app, self._env.name, ttl_s=LEASE_TTL_S):
                    self._on_lost()
                    return
            except SlipwayError:
                continue  # a busy store: the next renewal may succeed before expiry

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self._store.release_lock(self._env.app, self._env.name)


def iter_groups(records: Sequence[StepRecord]) -> Iterator[list[StepRecord]]:
    """Consecutive steps of one phase and group: they may run in parallel."""
    for _, group in groupby(records, key=lambda r: (r.phase, r.group_no)):
        yield list(group)
