"""What the engine does when one host of a fleet fails in the middle of a rollout.

A host fails when it stops answering (cut off, crashed), when a command on it
fails (a full disk, a missing binary), or when a step of one of its slots
fails and the host then does not answer a probe. A release that misbehaves on
a healthy host is *not* a host failure: that rolls back, whatever the policy.

The failed host's batch fails. Then the spec's ``on_host_failure`` decides:

- ``rollback`` (the default): the whole deployment rolls back, on every host
  that still answers;
- ``continue``: the rollout goes on without that host while the failed hosts
  are at most ``max_fail_percentage`` of the hosts the run works on (Ansible's
  rule: more than that percentage aborts, and rolls back).

Either way the failed host is left out for the rest of the run (its
remaining steps are ``skipped``, rollback steps included: nothing can be done
there), and the deployment's last event names every host with what happened
to it — the ``hosts`` of ``slipway logs``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

from slipway.errors import HostFailed, PermanentError
from slipway.spec.environment import Environment
from slipway.store import StepRecord
from slipway.targets.base import FleetTarget, Target


class HostPolicy:
    """The failed hosts of one run, and whether the rollout may go on without them."""

    def __init__(self, env: Environment, target: FleetTarget) -> None:
        assert env.fleet is not None
        spec = env.fleet.spec
        self.hosts = list(env.fleet.app_hosts)
        self.on_failure = spec.on_host_failure
        self.max_fail_percentage = spec.max_fail_percentage
        self.allowed = math.floor(len(self.hosts) * spec.max_fail_percentage / 100)
        self.slot_hosts = env.slot_hosts()
        self.target = target
        self.failed: dict[str, str] = {}
        self._lock = threading.Lock()

    def host_of(self, record: StepRecord) -> str | None:
        slot = record.params.get("slot")
        return self.slot_hosts.get(str(slot)) if slot is not None else None

    def skip_reason(self, record: StepRecord) -> str | None:
        """Why ``record`` must not run: its host failed earlier in this run."""
        host = self.host_of(record)
        if host is not None and host in self.failed:
            return f"skipped: host {host} failed ({self.failed[host]})"
        return None

    def _failed_hosts(self, record: StepRecord, exc: BaseException) -> dict[str, str]:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, HostFailed):
                # only the app's hosts may be left out: the LB host failing fails everything
                ok = all(h in self.hosts for h in cause.hosts)
                return dict(cause.hosts) if ok else {}
            cause = cause.__cause__
        host = self.host_of(record)
        if host is None:
            return {}
        reason = self.target.probe(host)  # did the step fail because the host went away?
        return (
            {host: f"unreachable after `{record.description}` failed: {reason}"} if reason else {}
        )

    def absorb(self, failures: Sequence[tuple[StepRecord, BaseException]]) -> list[BaseException]:
        """Record the host failures among ``failures``; return what still fails the phase."""
        remaining: list[BaseException] = []
        for record, exc in failures:
            hosts = self._failed_hosts(record, exc)
            if not hosts:
                remaining.append(exc)
                continue
            with self._lock:
                for host, detail in hosts.items():
                    if host not in self.failed:
                        self.failed[host] = detail
                        self.target.exclude(host, detail)
            if record.phase == "rollback":
                continue  # roll back the others; this host is reported as it is
            if self.on_failure == "continue" and len(self.failed) <= self.allowed:
                continue
            remaining.append(self._why_not_continue(exc))
        return remaining

    def _why_not_continue(self, exc: BaseException) -> BaseException:
        names = ", ".join(sorted(self.failed))
        if self.on_failure == "rollback":
            return PermanentError(f"host failed ({exc}); on_host_failure is rollback")
        share = 100 * len(self.failed) / max(1, len(self.hosts))
        error = PermanentError(
            f"{len(self.failed)} of {len(self.hosts)} hosts failed ({names}): {share:.0f}% is "
            f"more than max_fail_percentage {self.max_fail_percentage}% (last: {exc})"
        )
        error.__cause__ = exc
        return error

    def summary(self, *, status: str, version: str, previous: str | None) -> dict[str, str]:
        """Every host of the run and what happened to it, for the report."""
        done = {
            "succeeded": f"runs {version}",
            "rolled_back": f"rolled back to {previous or 'nothing'}",
            "aborted": f"rolled back to {previous or 'nothing'}",
        }.get(status, f"deployment {status}: see the steps")
        result = {}
        for host in self.hosts:
            if host in self.failed:
                result[host] = f"FAILED, left as it was: {self.failed[host]}"
            else:
                result[host] = done
        return result


def host_policy(env: Environment, target: Target) -> HostPolicy | None:
    """The policy of a fleet environment (None for a local one)."""
    if env.fleet is None or not isinstance(target, FleetTarget):
        return None
    return HostPolicy(env, target)
