"""The runbook's commands: ``check`` (and the pre-flight that ``deploy`` runs first),
``runbook`` (write the document, or ``--check`` its acceptance criteria) and ``drill``.

Registered on the one Typer app by importing this module (cli/app.py does it
at its end). Like the rest of the CLI, it only parses and prints: the checks,
their verdict and their record come from ``slipway.engine.preflight``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

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
    write_text,
)
from slipway.clock import SystemClock
from slipway.engine.observe import Observer
from slipway.engine.preflight import run_checks
from slipway.engine.recorder import RunbookRecorder
from slipway.notify.observer import NotifyingObserver
from slipway.notify.sender import Notifier
from slipway.release import check_version
from slipway.runbook.refresh import DocumentRefresher, default_path
from slipway.spec import DEFAULT_FILE
from slipway.store.records import Records
from slipway.view import print_json, safe, table
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
    "pass": Text("✓ pass", style="green"),
    "fail": Text("✗ fail", style="red"),
    "inconclusive": Text("? inconclusive", style="red"),
    "warn": Text("! warn", style="yellow"),
    "manual": Text("☐ manual", style="cyan"),
}
OK, NOT_OK = Text("✓", style="green"), Text("✗", style="red")


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
    out.print(f"[{style}]{safe(verdict.summary())}[/]", highlight=False)


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
            err.print(safe(verdict.summary()))  # stdout is kept for the deployment's JSON
        else:
            print_verdict(verdict, title=title, output=output)
    if not verdict.go:
        err.print(f"[red bold]No-Go[/]: {safe(version)} was not deployed; nothing was touched")
        raise typer.Exit(4)
    return runbook_observers(
        s,
        who=who,
        commit=commit,
        changes=changes,
        check_run=run_id,
        window_override=override.reason if override else None,
    )


def runbook_observers(
    s: Session,
    *,
    who: str | None = None,
    commit: str | None = None,
    changes: Sequence[str] = (),
    check_run: int | None = None,
    window_override: str | None = None,
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
            window_override=window_override,
        )
    ]
    if s.env.notifications:
        notifier = Notifier(s.env.notifications, clock=clock, records=Records(s.store))
        observers.append(NotifyingObserver(s.env, s.store, notifier, clock=clock))
    observers.append(DocumentRefresher(s.env, s.store))  # after the records it reads
    return observers


@app.command()
@reports_errors
def check(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    override_window: OverrideOpt = None,
    version: Annotated[
        str | None, typer.Option("--version", "-v", help="The release you mean to deploy.")
    ] = None,
) -> None:
    """Run the pre-flight checklist and print the Go/No-Go table (exit 4 on No-Go)."""
    if version is not None:
        check_version(version)
    with session(file, env) as s:
        override = (
            WindowOverride.create(override_window, current_user()) if override_window else None
        )
        verdict, _ = run_checks(
            s.env,
            store=s.store,
            clock=SystemClock(),
            purpose="check",
            version=version,
            override=override,
        )
    print_verdict(verdict, title=f"pre-flight: {s.env.app}/{s.env.name}", output=output)
    if not verdict.go:
        raise typer.Exit(4)


class Lang(StrEnum):
    en = "en"
    fr = "fr"


@app.command()
@reports_errors
def runbook(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    lang: Annotated[Lang, typer.Option(help="en or fr.")] = Lang.en,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write it [default: docs/runbooks/deployment.md]."),
    ] = None,
    check_only: Annotated[
        bool,
        typer.Option("--check", help="Verify the acceptance criteria instead (exit 4 if unmet)."),
    ] = False,
    output: OutputOpt = Output.text,
) -> None:
    """Write the runbook document from the spec and the records, or --check its criteria."""
    from slipway.runbook.criteria import acceptance
    from slipway.runbook.facts import gather
    from slipway.runbook.render import render

    with session(file, env) as s:
        facts = gather(s.env, s.store)
    if check_only:
        criteria = acceptance(facts)
        ok = all(c.ok for c in criteria)
        if output is Output.json:
            print_json({"ok": ok, "criteria": [c.as_dict() for c in criteria]})
        else:
            rows = [(OK if c.ok else NOT_OK, c.number, c.name, c.evidence) for c in criteria]
            out.print(
                table(
                    f"runbook acceptance: {s.env.app}/{s.env.name}",
                    ["", "#", "criterion", "evidence"],
                    rows,
                )
            )
            for c in criteria:
                for item in c.missing:
                    out.print(
                        f"[red]missing[/] ({c.number}) {safe(item)}",
                        highlight=False,
                        soft_wrap=True,
                    )
        if not ok:
            raise typer.Exit(4)
        return
    path = out_path or default_path(s.env)
    text = render(facts, lang.value)
    write_text(path, text, option="--out")
    if output is Output.json:
        headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
        print_json({"path": str(path), "lang": lang.value, "sections": headings})
    else:
        out.print(f"wrote {safe(path)} ({lang.value}, spec {safe(facts.digest)})")


@app.command()
@reports_errors
def drill(
    version: Annotated[
        str, typer.Option("--version", "-v", help="Release to deploy and roll back.")
    ],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Rehearse deploy-then-rollback on an environment and record the measured rollback time."""
    from slipway.engine import Engine
    from slipway.engine.observe import Observers
    from slipway.runbook.drill import run_drill
    from slipway.view import ProgressView

    with session(file, env) as s:
        observers = preflight_or_stop(
            s, output, version=version, purpose="drill", override_window=None
        )
        view = ProgressView(err if output is Output.json else out)
        engine = Engine(
            s.env, store=s.store, backends=s.backends, observer=Observers(view, *observers)
        )
        result = run_drill(engine, version)
    if output is Output.json:
        print_json(result.as_dict())
    else:
        took = f"{result.rollback_s:.2f}s" if result.rollback_s is not None else "—"
        style = "green" if result.within_target else "red"
        out.print(
            f"[{style} bold]drill {'passed' if result.passed else 'failed'}[/]: "
            f"{safe(result.version)} deployed ({safe(result.deploy_status)}), rolled back to "
            f"{safe(result.back_to)} in {took} (target < {result.target_s:g}s)",
            highlight=False,
        )
    if not result.within_target:
        raise typer.Exit(1)
