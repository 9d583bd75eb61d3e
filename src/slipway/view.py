"""How Slipway shows things to people: the live progress of a deployment, report tables.

Values shown here come from users and from the world (versions, reasons, a check's output, a
health endpoint's body): they are always plain text, never Rich markup — ``[/red]`` in a
version prints as itself. Only the marks and styles below are markup, and they are ours.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from slipway.store import Deployment, StepRecord

MARKS = {
    "pending": "[dim]·[/]",
    "running": "[yellow]▶[/]",
    "succeeded": "[green]✓[/]",
    "failed": "[red]✗[/]",
    "compensated": "[blue]↺[/]",
    "skipped": "[dim]-[/]",
}
OUTCOME_STYLE = {"succeeded": "green", "rolled_back": "yellow", "aborted": "yellow"}


class ProgressView:
    """Observer that shows the plan with each step's state, live on a terminal.

    Off a terminal (CI logs) it prints one line per transition instead, so the
    log reads top to bottom.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._rows: dict[int, list[str]] = {}
        self._live: Live | None = None
        self._lock = threading.Lock()

    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        with self._lock:
            for s in steps:
                self._rows[s.seq] = [s.phase, s.description, s.state, s.error or ""]
            if self._live is None and self._console.is_terminal:
                self._live = Live(self._table(), console=self._console, refresh_per_second=8)
                self._live.start()
        if not self._console.is_terminal:
            self._console.print(
                f"deployment {deployment.id}: {deployment.kind} {deployment.version} "
                f"({len(steps)} steps)"
            )

    def step(self, seq: int, description: str, state: str, error: str | None) -> None:
        with self._lock:
            row = self._rows.setdefault(seq, ["", description, state, ""])
            row[2], row[3] = state, (error or "")
            if self._live is not None:
                self._live.update(self._table())
                return
        if state != "running":
            suffix = f": {error}" if error else ""
            line = Text.assemble("  ", _mark(state), " ", f"{description}{suffix}")
            self._console.print(line, highlight=False)

    def message(self, text: str, level: str) -> None:
        style = {"error": "red", "warning": "yellow"}.get(level, "cyan")
        self._console.print(Text(text, style=style), highlight=False)

    def finished(self, deployment: Deployment) -> None:
        with self._lock:
            if self._live is not None:
                self._live.update(self._table())
                self._live.stop()
                self._live = None

    def waiting(self, deployment: Deployment, *, gate: str, reason: str) -> None:
        pass

    def _table(self) -> Table:
        table = Table(show_header=True, header_style="bold", expand=False)
        table.add_column("#", justify="right")
        table.add_column("phase")
        table.add_column("step")
        table.add_column("", justify="center")
        table.add_column("note", overflow="fold", max_width=60)
        for seq in sorted(self._rows):
            phase, description, state, error = self._rows[seq]
            table.add_row(str(seq), Text(phase), Text(description), _mark(state), Text(error))
        return table


def _mark(state: str) -> Text:
    return Text.from_markup(MARKS[state]) if state in MARKS else Text(state)


def outcome_line(dep: Deployment) -> Text:
    style = OUTCOME_STYLE.get(dep.status, "red")
    text = Text.assemble((dep.status, f"{style} bold"), f": {dep.kind} of {dep.version} ({dep.id})")
    if dep.rollback_s is not None:
        text.append(f", rolled back in {dep.rollback_s:.2f}s")
    if dep.reason:
        text.append(f"\n  reason: {dep.reason}")
    return text


def print_json(data: Any) -> None:
    """Plain JSON on stdout: no colours, no wrapping, for pipelines."""
    print(json.dumps(data, indent=2, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A report table; every cell is plain text except ``Text`` cells (our own marks)."""
    # A light box and folding, never cutting: an 80-column CI log shows every value whole.
    result = Table(
        title=Text(title),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    cells = [[_cell(v) for v in row] for row in rows]
    for i, column in enumerate(columns):
        # Short values (outcomes, versions, durations) and headers stay whole; long ones fold.
        longest = max((len(row[i]) for row in cells), default=len(column))
        longest = max(longest, len(column))
        result.add_column(column, overflow="fold", min_width=longest if longest <= 12 else None)
    for row in cells:
        result.add_row(*row)
    return result


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    return Text("" if value is None else str(value))


def mark(markup: str) -> Text:
    """One of our own marks (``[green]✓[/]``) for a table cell."""
    return Text.from_markup(markup)
