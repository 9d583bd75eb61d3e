"""``check`` (the pre-flight checklist alone) and ``runbook`` (the document, or its criteria).

The checks, their verdict and their record come from the library (``Deployer.check``); the
document from ``slipway.runbook``. Here they are only printed.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from slipway.cli.base import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    Output,
    OutputOpt,
    app,
    out,
    reports_errors,
    session,
    write_text,
)

if TYPE_CHECKING:
    from slipway.checks.preflight import GoNoGo
    from slipway.runbook.facts import Facts

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


def print_verdict(verdict: GoNoGo, *, title: str, output: Output) -> None:

    from slipway.view import mark, print_json, table

    if output is Output.json:
        print_json(verdict.as_dict())
        return
    rows = [
        (mark(MARKS[r.status]), r.name, r.evidence, r.owner or "", f"{r.duration_s:.2f}")
        for r in verdict.rows
    ]
    out().print(table(title, ["", "check", "evidence", "owner", "s"], rows))
    style = "green bold" if verdict.go else "red bold"
    out().print(verdict.summary(), style=style, markup=False, highlight=False)


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
    from slipway.deployment import Deployer, Request

    with session(file, env) as s:
        deployer = Deployer(s.env, store=s.store, backends=s.backends)
        verdict = deployer.check(version=version, request=Request(override_window=override_window))
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
    from slipway.runbook.facts import gather
    from slipway.runbook.refresh import default_path
    from slipway.runbook.render import render

    with session(file, env) as s:
        facts = gather(s.env, s.store)
    if check_only:
        _print_criteria(facts, s.env.app, s.env.name, output)
        return
    path = out_path or default_path(s.env)
    text = render(facts, "fr" if lang is Lang.fr else "en")
    write_text(path, text, option="--out")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    if output is Output.json:
        from slipway.view import print_json

        print_json({"path": str(path), "lang": lang.value, "sections": headings})
    else:
        out().print(f"wrote {path} ({lang.value}, spec {facts.digest})", markup=False)


def _print_criteria(facts: Facts, app_name: str, env_name: str, output: Output) -> None:
    from rich.text import Text

    from slipway.redact import scrub
    from slipway.runbook.criteria import acceptance
    from slipway.view import mark, print_json, table

    criteria = acceptance(facts)
    ok = all(c.ok for c in criteria)
    if output is Output.json:
        print_json({"ok": ok, "criteria": [c.as_dict() for c in criteria]})
    else:
        rows = [
            (mark("[green]✓[/]" if c.ok else "[red]✗[/]"), c.number, c.name, c.evidence)
            for c in criteria
        ]
        title = f"runbook acceptance: {app_name}/{env_name}"
        out().print(table(title, ["", "#", "criterion", "evidence"], rows))
        for c in criteria:
            for item in c.missing:
                line = Text.assemble(("missing", "red"), f" ({c.number}) {scrub(item)}")
                out().print(line, soft_wrap=True)
    if not ok:
        raise typer.Exit(4)
