"""The engine: runs plans durably against an environment's real parts."""

from slipway.engine.outcome import Outcome
from slipway.engine.runner import Engine
from slipway.observe import NullObserver, Observer, Observers

__all__ = ["Engine", "NullObserver", "Observer", "Observers", "Outcome"]
