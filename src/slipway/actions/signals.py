"""How a running deployment hears people: signals read from the store, and what they mean.

``Waiter.check`` is called between steps and, every ``POLL_S``, by the steps
that wait (pauses, gates, analyses, the blue-green hold). ``abort`` and
``rollback`` are acted on wherever they are heard, by raising; the signals a
step waits for (``promote``, ``approve``, ``reject``) are handed to it, and
any other stays pending for a later step — a ``promote`` sent during an
analysis ends the next pause, as in Argo Rollouts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from slipway.errors import Aborted, Interrupted, RollbackRequested
from slipway.store import Signal, Store

POLL_S = 0.1


def _said(signal: Signal) -> str:
    """The claimed name and the comment, for a reason or an event; the OS user and the machine
    it came from are in the signal's record (``slipway logs``)."""
    return signal.actor + (f" ({signal.comment})" if signal.comment else "")


class Waiter:
    def __init__(
        self, store: Store, deployment_id: str, *, should_stop: Callable[[], bool]
    ) -> None:
        self._store = store
        self._deployment_id = deployment_id
        self._should_stop = should_stop

    def check(self, *, accept: Collection[str] = ()) -> Signal | None:
        """Raise for abort, rollback or a stop request; return the first signal in ``accept``.

        The returned signal is not marked handled: the step says what it did with it.
        """
        if self._should_stop():
            raise Interrupted("stopped on request")
        for signal in self._store.pending_signals(self._deployment_id):
            if signal.kind == "abort":
                self._store.handle_signal(signal.id, outcome="aborted: rolling back")
                raise Aborted(f"aborted by {_said(signal)}")
            if signal.kind == "rollback":
                self._store.handle_signal(signal.id, outcome="rolling back")
                raise RollbackRequested(f"rollback asked by {_said(signal)}")
            if signal.kind in accept:
                return signal
        return None

    def handled(self, signal: Signal, outcome: str) -> None:
        self._store.handle_signal(signal.id, outcome=outcome)

    def close(self, outcome: str) -> None:
        """Mark what nobody acted on, so a later reader knows it was heard and dropped."""
        for signal in self._store.pending_signals(self._deployment_id):
            self._store.handle_signal(signal.id, outcome=outcome)


def said(signal: Signal) -> str:
    """``alice (looks good)``: who sent a signal, and their comment."""
    return _said(signal)
