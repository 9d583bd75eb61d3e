"""What a deployment came to, and the exit code it means (DESIGN.md's contract for CI).

``0`` succeeded · ``1`` failed · ``2`` invalid spec or usage · ``3`` rejected and rolled back ·
``4`` not started (No-Go, locked) · ``5`` succeeded, but some hosts of a fleet failed and were
left out (within ``max_fail_percentage`` with ``on_host_failure: continue``): a pipeline that
only asks "did it work?" must not take a partly rolled-out fleet for a whole one. Ansible says
the same with its exit 2, which Slipway's usage errors already use.
"""

from __future__ import annotations

from dataclasses import dataclass

from slipway.store import Deployment

EXIT_CODES = {"succeeded": 0, "rolled_back": 3, "aborted": 3, "failed": 1, "no_go": 4}
SUCCEEDED_WITH_FAILED_HOSTS = 5


@dataclass(frozen=True)
class Outcome:
    deployment: Deployment
    #: ``slipway rollback`` of a running deployment: its being rolled back is success.
    rollback_asked: bool = False
    #: hosts of a fleet that failed during this run and were left out (the rollout went on)
    failed_hosts: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        if self.rollback_asked and self.deployment.status == "rolled_back":
            return 0
        if self.deployment.status == "succeeded" and self.failed_hosts:
            return SUCCEEDED_WITH_FAILED_HOSTS
        return EXIT_CODES.get(self.deployment.status, 1)
