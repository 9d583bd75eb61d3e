"""The engine: runs plans durably against an environment's real parts."""

from slipway.engine.observe import NullObserver, Observer
from slipway.engine.runner import Engine, Outcome
from slipway.engine.wiring import Backends

__all__ = ["Backends", "Engine", "NullObserver", "Observer", "Outcome"]
