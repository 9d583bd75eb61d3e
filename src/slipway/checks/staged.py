"""Staged check: the version about to go out already succeeded in an earlier environment.

The seeds' Go/No-Go table asks "Staging OK" of QA; Slipway knows it from its
records: a successful deployment of this very version to ``staging`` (and,
if the spec asks, recently enough). Without a version to ask about (``slipway
check`` with no ``--version``) it cannot tell: inconclusive.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from slipway.checks.base import CheckResult
from slipway.clock import Clock
from slipway.store import Deployment


class StagedCheck:
    """``version`` succeeded in ``environment`` (no longer than ``max_age_s`` ago)."""

    def __init__(
        self,
        deployments: Callable[[], Sequence[Deployment]],
        *,
        version: str | None,
        environment: str,
        clock: Clock,
        max_age_s: float | None = None,
        name: str | None = None,
    ) -> None:
        self.deployments = deployments
        self.version = version
        self.environment = environment
        self.clock = clock
        self.max_age_s = max_age_s
        self.name = name or f"deployed to {environment} first"

    def probe(self) -> CheckResult:
        started = time.monotonic()
        if self.version is None:
            evidence = "no version to ask about: give --version"
            return CheckResult("inconclusive", evidence, time.monotonic() - started)
        good = [
            d
            for d in self.deployments()
            if d.version == self.version and d.kind == "deploy" and d.status == "succeeded"
        ]
        if not good:
            evidence = f"{self.version} was never deployed successfully to {self.environment}"
            return CheckResult("fail", evidence, time.monotonic() - started)
        last = good[0]
        when = last.ended_at or last.started_at
        age_s = (self.clock.now() - datetime.fromisoformat(when)).total_seconds()
        evidence = f"{self.version} succeeded on {self.environment} ({last.id}, {when})"
        if self.max_age_s is not None and age_s > self.max_age_s:
            evidence += f", {age_s / 3600:.1f} h ago: older than {self.max_age_s / 3600:g} h"
            return CheckResult("fail", evidence, time.monotonic() - started)
        return CheckResult("pass", evidence, time.monotonic() - started)
