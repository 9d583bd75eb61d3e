"""The store: every deployment, step, event, lock and current release, persisted."""

from slipway.store.analyses import AnalysisRun
from slipway.store.api import (
    Deployment,
    Event,
    Lock,
    Status,
    StepRecord,
    Store,
    runner_alive,
    this_runner,
)
from slipway.store.base import Fence
from slipway.store.flags import FlagRecord
from slipway.store.hosts import CurrentRelease, HostRelease
from slipway.store.leases import LockEntry
from slipway.store.queue import QueuedRunner
from slipway.store.signals import SIGNAL_KINDS, Signal

__all__ = [
    "SIGNAL_KINDS",
    "AnalysisRun",
    "CurrentRelease",
    "Deployment",
    "Event",
    "Fence",
    "FlagRecord",
    "HostRelease",
    "Lock",
    "LockEntry",
    "QueuedRunner",
    "Signal",
    "Status",
    "StepRecord",
    "Store",
    "runner_alive",
    "this_runner",
]
