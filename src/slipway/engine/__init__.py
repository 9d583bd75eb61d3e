"""The engine: runs plans durably against an environment's real parts."""

from slipway.engine.runner import Engine, Outcome
from slipway.observe import NullObserver, Observer, Observers

__all__ = ["Engine", "NullObserver", "Observer", "Observers", "Outcome"]
