"""Pre-flight: run every check of the runbook once and decide Go or No-Go.

The rule is the one a person applies to the seeds' H-0 table: Go when every
blocking check passed. A blocking check that failed — or could not tell
(``inconclusive``: an unreachable endpoint proves nothing) — is a No-Go. A
non-blocking one that did not pass is a warning. A manual item (code review,
customer told) is listed with its owner, never run: a person answers for it at
the Go/No-Go gate.

Checks run in a small thread pool (a test suite and a TLS handshake need not
wait for each other); each is bounded by its own timeout, and the rows keep
the spec's order.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from slipway.checks.base import Check, CheckResult

MAX_PARALLEL = 4
RowStatus = Literal["pass", "fail", "inconclusive", "warn", "manual"]


@dataclass(frozen=True)
class PreflightItem:
    """One line of the checklist: a check to run, or (``check`` None) a manual item."""

    name: str
    kind: str
    check: Check | None
    blocking: bool = True
    owner: str | None = None


@dataclass(frozen=True)
class PreflightRow:
    name: str
    kind: str
    status: RowStatus
    evidence: str
    blocking: bool
    owner: str | None
    duration_s: float

    @property
    def no_go(self) -> bool:
        return self.blocking and self.status in ("fail", "inconclusive")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "evidence": self.evidence,
            "blocking": self.blocking,
            "owner": self.owner,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass(frozen=True)
class GoNoGo:
    rows: tuple[PreflightRow, ...]

    @property
    def go(self) -> bool:
        return not any(r.no_go for r in self.rows)

    @property
    def word(self) -> str:
        return "go" if self.go else "no_go"

    @property
    def failures(self) -> list[PreflightRow]:
        return [r for r in self.rows if r.no_go]

    def summary(self) -> str:
        if self.go:
            automated = sum(r.status != "manual" for r in self.rows)
            return f"Go: {automated} checks passed"
        names = ", ".join(f"{r.name} ({r.status})" for r in self.failures)
        return f"No-Go: {names}"

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.word, "checks": [r.as_dict() for r in self.rows]}


def run_preflight(items: Sequence[PreflightItem]) -> GoNoGo:
    """Probe every automated item once; never raises for a check being unwell."""
    automated = [i for i in items if i.check is not None]
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(automated)))) as pool:
        futures = {id(i): pool.submit(_probe, i.check) for i in automated if i.check}
        results = {key: f.result() for key, f in futures.items()}
    rows = []
    for item in items:
        if item.check is None:
            who = item.owner or "nobody"
            rows.append(
                PreflightRow(
                    item.name, item.kind, "manual", f"to confirm: {who}", False, item.owner, 0
                )
            )
            continue
        result = results[id(item)]
        status: RowStatus = result.status
        if not item.blocking and status != "pass":
            status = "warn"
        rows.append(
            PreflightRow(
                item.name,
                item.kind,
                status,
                result.evidence,
                item.blocking,
                item.owner,
                result.duration_s,
            )
        )
    return GoNoGo(tuple(rows))


def _probe(check: Check) -> CheckResult:
    started = time.monotonic()
    try:
        return check.probe()
    except Exception as exc:  # a check that raises is a bug, but it must not hide the others
        return CheckResult(
            "inconclusive",
            f"the check raised {type(exc).__name__}: {exc}",
            time.monotonic() - started,
        )
