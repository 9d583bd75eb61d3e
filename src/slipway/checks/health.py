"""Waiting for an instance to become healthy: thresholds, a startup grace, a deadline.

The rule, probe by probe (one every ``interval_s``, counted from the start of
the previous probe):

- ``pass``: one more pass in a row; ``healthy_threshold`` of them in a row make
  the instance healthy and ``wait_healthy`` returns.
- ``fail`` (the instance answered, wrongly): one more failure in a row;
  ``unhealthy_threshold`` of them in a row raise ``CheckFailed``.
- ``inconclusive`` (no answer: the connection refused, or accepted and silent
  until the probe's timeout): *before the instance has answered at all* it
  counts for neither — this is the startup grace, since a process opens its port
  some time after it starts, and a pre-forking server (gunicorn) binds before its
  workers have loaded the app, so the kernel accepts for it while nobody reads;
  *once it has answered* (any pass or fail), it counts as a failure, because
  an instance that answered and now refuses or stays silent has died, closed its
  port or become too slow.
- Whatever the probes say, ``timeout_s`` after the first probe it is over:
  ``CheckFailed``. So the startup grace lasts at most ``timeout_s``.

Either way a pass streak is broken by anything but a pass. ``CheckFailed``
carries the last probes as evidence, each with its time since the first one.
"""

from __future__ import annotations

from collections import deque

from slipway.checks.base import Check, CheckResult
from slipway.clock import Clock
from slipway.errors import CheckFailed, UsageError

MIN_PROBES_KEPT = 5


def wait_healthy(
    check: Check,
    *,
    interval_s: float,
    timeout_s: float,
    healthy_threshold: int,
    unhealthy_threshold: int,
    clock: Clock,
) -> CheckResult:
    """Probe ``check`` until it is healthy (returned) or not (``CheckFailed`` raised).

    The result returned is the last probe's, its evidence saying how long it
    took, and its ``duration_s`` the whole wait.
    """
    if interval_s <= 0 or timeout_s < 0 or healthy_threshold < 1 or unhealthy_threshold < 1:
        raise UsageError(
            "wait_healthy needs interval_s > 0, timeout_s >= 0 and thresholds of at least 1"
        )
    started = clock.monotonic()
    deadline = started + timeout_s
    passes = failures = probes = 0
    answered = False
    recent: deque[str] = deque(maxlen=max(MIN_PROBES_KEPT, unhealthy_threshold))
    while True:
        probe_started = clock.monotonic()
        result = check.probe()
        probes += 1
        recent.append(f"+{probe_started - started:.1f}s {result.status}: {result.evidence}")
        if result.status == "pass":
            answered = True
            passes, failures = passes + 1, 0
            if passes >= healthy_threshold:
                waited = clock.monotonic() - started
                evidence = f"{result.evidence} (healthy after {probes} probes, {waited:.1f}s)"
                return CheckResult("pass", evidence, waited)
        elif result.status == "fail" or answered:
            answered = True
            passes, failures = 0, failures + 1
            if failures >= unhealthy_threshold:
                raise CheckFailed(
                    f"{check.name}: failed {failures} health checks in a row",
                    evidence="\n".join(recent),
                )
        else:
            passes = 0  # still starting: the grace
        next_probe = probe_started + interval_s
        if next_probe > deadline:
            what = "not healthy" if answered else "never answered"
            raise CheckFailed(
                f"{check.name}: {what} within {timeout_s:g}s", evidence="\n".join(recent)
            )
        clock.sleep(next_probe - clock.monotonic())
