"""What a deployment came to, and the exit code it means (DESIGN.md's contract for CI)."""

from __future__ import annotations

from dataclasses import dataclass

from slipway.store import Deployment

EXIT_CODES = {"succeeded": 0, "rolled_back": 3, "aborted": 3, "failed": 1, "no_go": 4}


@dataclass(frozen=True)
class Outcome:
    deployment: Deployment
    #: ``slipway rollback`` of a running deployment: its being rolled back is success.
    rollback_asked: bool = False

    @property
    def exit_code(self) -> int:
        if self.rollback_asked and self.deployment.status == "rolled_back":
            return 0
        return EXIT_CODES.get(self.deployment.status, 1)
