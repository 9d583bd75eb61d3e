"""The store: every deployment, step, event, lock and current release, persisted."""

from slipway.store.api import (
    CurrentRelease,
    Deployment,
    Event,
    Lock,
    StepRecord,
    Store,
    runner_alive,
    this_runner,
)

__all__ = [
    "CurrentRelease",
    "Deployment",
    "Event",
    "Lock",
    "StepRecord",
    "Store",
    "runner_alive",
    "this_runner",
]
