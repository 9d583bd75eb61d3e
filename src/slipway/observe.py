"""How the engine tells a watcher (the CLI's live view, a test) what it is doing."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from slipway.store import Deployment, StepRecord


class Observer(Protocol):
    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        """A plan (or a rollback plan) is about to run; ``steps`` is all of them so far."""

    def step(self, seq: int, description: str, state: str, error: str | None) -> None: ...

    def message(self, text: str, level: str) -> None: ...

    def finished(self, deployment: Deployment) -> None: ...

    def waiting(self, deployment: Deployment, *, gate: str, reason: str) -> None:
        """A gate waits for a person (Go/No-Go, promote): tell them what to answer."""


class NullObserver:
    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        pass

    def step(self, seq: int, description: str, state: str, error: str | None) -> None:
        pass

    def message(self, text: str, level: str) -> None:
        pass

    def finished(self, deployment: Deployment) -> None:
        pass

    def waiting(self, deployment: Deployment, *, gate: str, reason: str) -> None:
        pass


class Observers:
    """Several observers as one (the live view, the runbook's recorder, the notifier).

    Each is told in turn; one that raises is a bug in it, and must not stop the
    deployment nor hide the news from the others.
    """

    def __init__(self, *observers: Observer) -> None:
        self._observers = observers

    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        for o in self._observers:
            _quietly(o.started, deployment, steps)

    def step(self, seq: int, description: str, state: str, error: str | None) -> None:
        for o in self._observers:
            _quietly(o.step, seq, description, state, error)

    def message(self, text: str, level: str) -> None:
        for o in self._observers:
            _quietly(o.message, text, level)

    def finished(self, deployment: Deployment) -> None:
        for o in self._observers:
            _quietly(o.finished, deployment)

    def waiting(self, deployment: Deployment, *, gate: str, reason: str) -> None:
        for o in self._observers:
            _quietly(functools.partial(o.waiting, gate=gate, reason=reason), deployment)


def _quietly(method: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(Exception):
        method(*args)
