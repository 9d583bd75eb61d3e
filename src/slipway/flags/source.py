"""What a flag server serves: a snapshot of the environment's flags, kept fresh from the store.

Reading the store on every evaluation would cost more than the evaluation itself, so the
server keeps a snapshot and a thread reads the store again every ``refresh_s`` (one small
query): a change — an abort's weight 0 — is served at most ``refresh_s`` after it was
written. The snapshot is replaced whole, never changed in place, so a request evaluates all
its flags against one revision.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slipway.errors import StoreError
from slipway.flags.backend import as_flag
from slipway.flags.evaluation import Flag
from slipway.store import Store


@dataclass(frozen=True)
class Snapshot:
    revision: int = 0
    flags: Mapping[str, Flag] = field(default_factory=dict)
    #: the OFREP items this snapshot's evaluations encode to, filled as they are first served
    #: (``ofrep``): a request then joins bytes instead of encoding JSON
    encoded: dict[Any, bytes] = field(default_factory=dict, compare=False, repr=False)


class FlagSource:
    def __init__(self, store: Store, *, app: str, environment: str, refresh_s: float) -> None:
        self._store = store
        self.app = app
        self.environment = environment
        self.refresh_s = refresh_s
        self._snapshot = Snapshot()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0  # store reads that failed (the last snapshot was kept)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def refresh(self) -> Snapshot:
        """Read the store now; on a failure keep serving the last snapshot."""
        try:
            records = self._store.flags(self.app, self.environment)
        except StoreError:
            self.errors += 1
            return self._snapshot
        revision = max((r.revision for r in records), default=0)
        if revision != self._snapshot.revision or len(records) != len(self._snapshot.flags):
            self._snapshot = Snapshot(revision, {r.key: as_flag(r) for r in records})
        return self._snapshot

    def start(self) -> FlagSource:
        self.refresh()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="slipway-flags", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_s):
            self.refresh()
