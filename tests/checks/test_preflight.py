"""Go / No-Go from the rows: blocking failures and inconclusive answers say No-Go."""

from __future__ import annotations

import sys

from slipway.checks.base import CheckResult
from slipway.checks.command import CommandCheck
from slipway.checks.preflight import PreflightItem, run_preflight


class Raising:
    name = "buggy"

    def probe(self) -> CheckResult:
        raise RuntimeError("boom")


def ok() -> CommandCheck:
    return CommandCheck([sys.executable, "-c", "pass"])


def bad() -> CommandCheck:
    return CommandCheck([sys.executable, "-c", "import sys; print('2 tests failed'); sys.exit(1)"])


def test_all_pass_is_go_and_manual_items_are_listed() -> None:
    verdict = run_preflight(
        [
            PreflightItem("tests", "command", ok()),
            PreflightItem("code review", "manual", None, owner="Tech Lead"),
        ]
    )
    assert verdict.go
    assert [r.status for r in verdict.rows] == ["pass", "manual"]
    assert verdict.rows[1].evidence == "to confirm: Tech Lead"
    assert verdict.summary() == "Go: 1 checks passed"


def test_a_blocking_failure_is_no_go_with_its_evidence() -> None:
    verdict = run_preflight(
        [PreflightItem("tests", "command", bad()), PreflightItem("lint", "command", ok())]
    )
    assert not verdict.go
    assert verdict.word == "no_go"
    assert [r.name for r in verdict.failures] == ["tests"]
    assert "2 tests failed" in verdict.rows[0].evidence
    assert verdict.summary() == "No-Go: tests (fail)"


def test_non_blocking_failure_is_a_warning() -> None:
    verdict = run_preflight([PreflightItem("scan", "command", bad(), blocking=False)])
    assert verdict.go
    assert verdict.rows[0].status == "warn"


def test_a_check_that_raises_is_inconclusive_and_no_go() -> None:
    verdict = run_preflight(
        [PreflightItem("buggy", "custom", Raising()), PreflightItem("t", "command", ok())]
    )
    assert not verdict.go
    assert verdict.rows[0].status == "inconclusive"
    assert "RuntimeError: boom" in verdict.rows[0].evidence
    assert verdict.rows[1].status == "pass"
    assert verdict.as_dict()["verdict"] == "no_go"
