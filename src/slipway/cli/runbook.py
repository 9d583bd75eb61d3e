"""The runbook's commands: ``check`` (and the pre-flight that ``deploy`` runs first).

Registered on the one Typer app by importing this module (cli/app.py does it
at its end). Like the rest of the CLI, it only parses and prints: the checks,
their verdict and their record come from ``slipway.engine.preflight``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from slipway.checks.preflight import Verdict
from slipway.checks.window import WindowOverride
from slipway.cli.app import (
    EnvOpt,
    FileOpt,
    Output,
    OutputOpt,
    Session,
    app,
    err,
    out,
    reports_errors,
    session,
)
from slipway.clock import SystemClock
from slipway.engine.observe import Observer
from slipway.engine.preflight import run_checks
from slipway.engine.recorder import RunbookRecorder
from slipway.notify.observer import NotifyingObserver
from slipway.notify.sender import Notifier
from slipway.release import check_version
from slipway.spec import DEFAULT_FILE
from slipway.store.records import Records
from slipway.view import print_json, table
from slipway.who import current_user

OverrideOpt = Annotated[
    str | None,
    typer.Option(
        "--override-window",
        metavar="REASON",
        help="Deploy although the window is closed; the reason is recorded.",
    ),
]
MARKS = {
    "pass": "[green]✓ pass[/]",
    "fail": "[red]✗ fail[/]",
    "inconclusive": "[red]? inconclusive[/]",
    "warn": "[yellow]! warn[/]",
    "manual": "[cyan]☐ manual[/]",
}


def print_verdict(verdict: Verdict, *, title: str, output: Output) -> None:
    if output is Output.json:
        print_json(verdict.as_dict())
        return
    rows = [
        (MARKS[r.status], r.name, r.evidence, r.owner or "", f"{r.duration_s:.2f}")
        for r in verdict.rows
    ]
    out.print(table(title, ["", "check", "evidence", "owner", "s"], rows))
    style = "green bold" if verdict.go else "red bold"
    out.print(f"[{style}]{verdict.summary()}[/]", highlight=False)


def preflight_or_stop(
    s: Session,
    output: Output,
    *,
    version: str,
    purpose: str,
    override_window: str | None,
    commit: str | None = None,
    changes: Sequence[str] = (),
) -> list[Observer]:
    """Run the checklist before a deployment; on No-Go print why and exit 4, touching nothing.

    Returns the observers that record the deployment this pre-flight let through.
    """
    check_version(version)
    s.backends.releases.check_source(version)  # a usage error (exit 2) comes before No-Go
    who = current_user()
    override = WindowOverride.create(override_window, who) if override_window else None
    verdict, run_id = run_checks(
        s.env,
        store=s.store,
        clock=SystemClock(),
        purpose=purpose,
        version=version,
        override=override,
    )
    if verdict.rows:
        title = f"pre-flight: {s.env.app}/{s.env.name} → {version}"
        if output is Output.json and verdict.go:
            err.print(verdict.summary())  # stdout is kept for the deployment's JSON
        else:
            print_verdict(verdict, title=title, output=output)
    if not verdict.go:
        err.print(f"[red bold]No-Go[/]: {version} was not deployed; nothing was touched")
        raise typer.Exit(4)
    return runbook_observers(s, who=who, commit=commit, changes=changes, check_run=run_id)


def runbook_observers(
    s: Session,
    *,
    who: str | None = None,
    commit: str | None = None,
    changes: Sequence[str] = (),
    check_run: int | None = None,
) -> list[Observer]:
    """The observers every deployment gets: the runbook's recorder, then the notifier."""
    clock = SystemClock()
    observers: list[Observer] = [
        RunbookRecorder(
            s.env,
            s.store,
            who=who or current_user(),
            commit_id=commit,
            changes=changes,
            check_run=check_run,
        )
    ]
    if s.env.notifications:
        notifier = Notifier(s.env.notifications, clock=clock, records=Records(s.store))
        observers.append(NotifyingObserver(s.env, s.store, notifier, clock=clock))
    return observers


@app.command()
@reports_errors
def check(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    override_window: OverrideOpt = None,
) -> None:
    """Run the pre-flight checklist and print the Go/No-Go table (exit 4 on No-Go)."""
    with session(file, env) as s:
        override = (
            WindowOverride.create(override_window, current_user()) if override_window else None
        )
        verdict, _ = run_checks(
            s.env, store=s.store, clock=SystemClock(), purpose="check", override=override
        )
    print_verdict(verdict, title=f"pre-flight: {s.env.app}/{s.env.name}", output=output)
    if not verdict.go:
        raise typer.Exit(4)
