"""What every action of one deployment works with: the environment, its live parts, the
store, the clock, and the deployment the steps belong to."""

from __future__ import annotations

from dataclasses import dataclass

from slipway.backends import Backends
from slipway.clock import Clock
from slipway.spec.environment import Environment
from slipway.store import Store


@dataclass(frozen=True)
class StepContext:
    env: Environment
    backends: Backends
    store: Store
    clock: Clock
    deployment_id: str
