"""Strategies: pure functions from a spec, a version and the live placement to steps."""

from slipway.strategies.blue_green import blue_green
from slipway.strategies.canary import canary
from slipway.strategies.rollback import back_to
from slipway.strategies.rolling import rolling

__all__ = ["back_to", "blue_green", "canary", "rolling"]
