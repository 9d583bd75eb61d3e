"""Slipway: a deployment-runbook engine.

The public Python API is what this module exports; everything else may change::

    from slipway import Backends, Deployer, Request, Store, SystemClock, load_spec

    env = load_spec("slipway.yaml").environment("production")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    deployer = Deployer(env, store=store, backends=backends)
    outcome = deployer.deploy("1.4.2", Request(who="alice", commit="abc1234"))
    # lock, pre-flight, plan, rollout, rollback if needed, records, notifications, document:
    # exactly what `slipway deploy` does; outcome.exit_code follows DESIGN.md

``Engine`` alone runs plans without the runbook around them (no pre-flight, no records of who
asked, no notifications): the building block ``Deployer`` uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slipway.backends import Backends
    from slipway.clock import Clock, ManualClock, SystemClock
    from slipway.deployment import Deployer, PreflightNoGo, Request
    from slipway.engine import Engine, NullObserver, Observer, Outcome
    from slipway.errors import (
        BackendError,
        CheckFailed,
        LockedError,
        NoGoError,
        PermanentError,
        SlipwayError,
        SpecError,
        StepError,
        StoreError,
        TemporaryError,
        UsageError,
    )
    from slipway.plan import build_plan, rollback_plan
    from slipway.spec import Environment, LoadedSpec, Spec, load_spec
    from slipway.store import Store

# Imported on first use: `python -m slipway.supervisord.launch`, which starts every instance, and
# `import slipway` must not pay for the engine, SQLAlchemy and httpx.
_HOMES = {
    **dict.fromkeys(("Clock", "ManualClock", "SystemClock"), "slipway.clock"),
    **dict.fromkeys(("Engine", "NullObserver", "Observer", "Outcome"), "slipway.engine"),
    **dict.fromkeys(
        (
            "BackendError",
            "CheckFailed",
            "LockedError",
            "NoGoError",
            "PermanentError",
            "PreflightNoGo",
            "Request",
            "SlipwayError",
            "SpecError",
            "StepError",
            "StoreError",
            "TemporaryError",
            "UsageError",
        ),
        "slipway.errors",
    ),
    **dict.fromkeys(("build_plan", "rollback_plan"), "slipway.plan"),
    **dict.fromkeys(("Environment", "LoadedSpec", "Spec", "load_spec"), "slipway.spec"),
    "Store": "slipway.store",
    **dict.fromkeys(("Deployer", "PreflightNoGo", "Request"), "slipway.deployment"),
    "Backends": "slipway.backends",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'slipway' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "Backends",
    "CheckFailed",
    "Clock",
    "Deployer",
    "Engine",
    "Environment",
    "LoadedSpec",
    "LockedError",
    "ManualClock",
    "NoGoError",
    "NullObserver",
    "Observer",
    "Outcome",
    "PermanentError",
    "PreflightNoGo",
    "Request",
    "SlipwayError",
    "Spec",
    "SpecError",
    "StepError",
    "Store",
    "StoreError",
    "SystemClock",
    "TemporaryError",
    "UsageError",
    "build_plan",
    "load_spec",
    "rollback_plan",
]
