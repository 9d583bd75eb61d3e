"""How the engine tells a watcher (the CLI's live view, a test) what it is doing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from slipway.store import Deployment, StepRecord


class Observer(Protocol):
    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        """A plan (or a rollback plan) is about to run; ``steps`` is all of them so far."""

    def step(self, seq: int, description: str, state: str, error: str | None) -> None: ...

    def message(self, text: str, level: str) -> None: ...

    def finished(self, deployment: Deployment) -> None: ...


class NullObserver:
    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        pass

    def step(self, seq: int, description: str, state: str, error: str | None) -> None:
        pass

    def message(self, text: str, level: str) -> None:
        pass

    def finished(self, deployment: Deployment) -> None:
        pass
