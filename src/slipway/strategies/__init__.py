"""Strategies: pure functions from a spec, a version and the live placement to steps.

``STRATEGIES`` is the registry: one function per ``strategy.type`` of the spec. A new strategy
is one module and one line here. ``UNDOS`` holds the strategies whose release is not a move
of instances (a flag): how a rollback takes back what they released, once their code is live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from slipway.steps import Layout, Placement, Step
from slipway.strategies.blue_green import blue_green
from slipway.strategies.canary import canary
from slipway.strategies.flag import flag, flag_undo
from slipway.strategies.rollback import back_to
from slipway.strategies.rolling import rolling


class Strategy(Protocol):
    def __call__(
        self, spec: Any, /, *, version: str, layout: Layout, placement: Sequence[Placement]
    ) -> list[Step]: ...


STRATEGIES: dict[str, Strategy] = {
    "rolling": rolling,
    "blue-green": blue_green,
    "canary": canary,
    "flag": flag,
}


class Undo(Protocol):
    def __call__(
        self, spec: Any, /, *, version: str, done: Sequence[tuple[str, str]]
    ) -> list[Step] | None: ...


UNDOS: dict[str, Undo] = {"flag": flag_undo}

__all__ = [
    "STRATEGIES",
    "UNDOS",
    "Strategy",
    "Undo",
    "back_to",
    "blue_green",
    "canary",
    "flag",
    "rolling",
]
