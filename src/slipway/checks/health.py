"""Waiting for an instance to become healthy, with thresholds.

The rule: ``healthy_threshold`` consecutive passes make an instance healthy;
``unhealthy_threshold`` consecutive failures make it fail. An *inconclusive*
probe (connection refused: the process has not opened its port yet) counts
for neither, so a slow start is not a failure — until ``timeout_s`` runs out,
which fails it whatever the probes said.
"""

from __future__ import annotations

from collections import deque

from slipway.checks.base import Check, CheckResult
from slipway.clock import Clock
from slipway.errors import CheckFailed


def wait_healthy(
    check: Check,
    *,
    interval_s: float,
    timeout_s: float,
    healthy_threshold: int,
    unhealthy_threshold: int,
    clock: Clock,
) -> CheckResult:
    deadline = clock.monotonic() + timeout_s
    passes = failures = 0
    recent: deque[str] = deque(maxlen=5)
    while True:
        result = check.probe()
        recent.append(f"{result.status}: {result.evidence}")
        if result.status == "pass":
            passes, failures = passes + 1, 0
            if passes >= healthy_threshold:
                return result
        elif result.status == "fail":
            passes, failures = 0, failures + 1
            if failures >= unhealthy_threshold:
                raise CheckFailed(
                    f"{check.name}: health check failed {failures} times in a row",
                    evidence="\n".join(recent),
                )
        else:
            passes = 0
        if clock.monotonic() + interval_s > deadline:
            raise CheckFailed(
                f"{check.name}: not healthy after {timeout_s:g}s", evidence="\n".join(recent)
            )
        clock.sleep(interval_s)
