"""The live view and the report tables print data as text: brackets stay brackets (Rich
never reads them as markup, on a terminal or off it) and known secrets are masked."""

from __future__ import annotations

import io

import pytest

from slipway.redact import SECRETS
from slipway.store import Deployment, StepRecord
from slipway.view import ProgressView, SafeConsole, outcome_line, table

SECRET = "tok-" + "91b4e2d7c3"


def deployment(reason: str | None = None) -> Deployment:
    return Deployment(
        id="20261122-160301-a1b2c3", app="shop", environment="prod", kind="deploy",
        version="[/x]", previous_version=None, release_digest=None, strategy="rolling",
        status="failed", reason=reason, runner=None, started_at="2026-11-22T16:03:01Z",
        ended_at=None, rollback_started_at=None, rollback_s=None,
    )  # fmt: skip


def step(description: str) -> StepRecord:
    return StepRecord(
        id=1, deployment_id="d", seq=0, phase="deploy", group_no=0, kind="k", params={},
        description=description, state="pending", attempts=0, error=None, result=None,
        started_at=None, ended_at=None,
    )  # fmt: skip


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_shows_brackets_and_masks_secrets(terminal: bool) -> None:
    SECRETS.add(SECRET)
    buffer = io.StringIO()
    # a terminal without colours: the live table is used, and the text reads plainly
    console = SafeConsole(file=buffer, force_terminal=terminal, color_system=None, width=200)
    view = ProgressView(console)
    dep = deployment(reason=f"/health said [/oops] {SECRET}")
    view.started(dep, [step("check test_paths[/srv]")])
    view.step(0, "check test_paths[/srv]", "failed", f"503: [/oops] [bold]{SECRET}")
    view.message(f"[/red] {SECRET}", "warning")
    view.finished(dep)
    console.print(outcome_line(dep))
    console.print(table(f"t [/x] {SECRET}", ["a"], [[f"[/y] {SECRET}"]]))
    shown = buffer.getvalue()
    for text in ("test_paths[/srv]", "[/oops]", "[/red]", "[/x]", "[/y]"):
        assert text in shown, text
    assert SECRET not in shown and "***" in shown
