"""From a spec's environment to its live backends: target, router, releases, health checks."""

from slipway.backends.wiring import Backends

__all__ = ["Backends"]
