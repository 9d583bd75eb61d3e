"""The ``Check`` interface: anything that answers pass / fail / inconclusive with evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Status = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True)
class CheckResult:
    status: Status
    evidence: str
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == "pass"


class Check(Protocol):
    name: str

    def probe(self) -> CheckResult:
        """Look once; never raise for the thing checked being unwell (that is a "fail")."""
