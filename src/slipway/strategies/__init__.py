"""Strategies: pure functions from a spec, a version and the live placement to steps.

``STRATEGIES`` is the registry: one function per ``strategy.type`` of the spec. A new strategy
is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from slipway.steps import Layout, Placement, Step
from slipway.strategies.blue_green import blue_green
from slipway.strategies.canary import canary
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
}

__all__ = ["STRATEGIES", "Strategy", "back_to", "blue_green", "canary", "rolling"]
