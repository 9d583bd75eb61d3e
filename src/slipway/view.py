"""How Slipway shows things to people: the live progress of a deployment, report tables.

Everything printed goes through here, and two rules hold for all of it. Data is never markup:
a version, a reason, a check's output or an event recorded from an app's ``/health`` body
may hold ``[/red]``, which Rich would read as a closing tag (and raise ``MarkupError``), so
it is escaped (``safe``) or given to Rich as ``Text``, and only Slipway's own styles are
markup. And no secret is shown: ``SafeConsole``, the tables and ``print_json`` pass what
they print through the process's ``Scrubber`` (``slipway.redact``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from slipway.redact import scrub, scrub_data

if TYPE_CHECKING:  # the store (SQLAlchemy) is not imported to print: `validate` needs none
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


class SafeConsole(Console):
    """A Rich console that masks every known secret in the strings it is given to print."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(scrub(o) if isinstance(o, str) else o for o in objects), **kwargs)


def safe(value: object) -> str:
    """``value`` as text fit to put inside markup: secrets masked, brackets escaped."""
    return escape(scrub(str(value)))


def plain(value: object) -> Text:
    """``value`` as a Rich ``Text`` (never read as markup), secrets masked."""
    if isinstance(value, Text):
        return value
    return Text("" if value is None else scrub(str(value)))


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
                f"deployment {safe(deployment.id)}: {deployment.kind} {safe(deployment.version)} "
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
            suffix = f": {safe(error)}" if error else ""
            mark = MARKS.get(state, safe(state))
            self._console.print(f"  {mark} {safe(description)}{suffix}")

    def message(self, text: str, level: str) -> None:
        style = {"error": "red", "warning": "yellow"}.get(level, "cyan")
        self._console.print(f"[{style}]{safe(text)}[/]")

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
            mark = Text.from_markup(MARKS[state]) if state in MARKS else plain(state)
            table.add_row(str(seq), plain(phase), plain(description), mark, plain(error))
        return table


def outcome_line(dep: Deployment) -> str:
    style = OUTCOME_STYLE.get(dep.status, "red")
    text = (
        f"[{style} bold]{safe(dep.status)}[/]: {safe(dep.kind)} of {safe(dep.version)} "
        f"({safe(dep.id)})"
    )
    if dep.rollback_s is not None:
        text += f", rolled back in {dep.rollback_s:.2f}s"
    if dep.reason:
        text += f"\n  reason: {safe(dep.reason)}"
    return text


def print_json(data: Any) -> None:
    """Plain JSON on stdout: no colours, no wrapping, for pipelines; secrets masked."""
    print(json.dumps(scrub_data(json.loads(json.dumps(data, default=str))), indent=2))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A report table; every cell is plain text (a ``Text`` given by the caller keeps its
    styles), secrets masked."""
    # A light box and folding, never cutting: an 80-column CI log shows every value whole.
    result = Table(
        title=plain(title),
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    cells = [[plain(v) for v in row] for row in rows]
    for i, column in enumerate(columns):
        # Short values (outcomes, versions, durations) and headers stay whole; long ones fold.
        longest = max((row[i].cell_len for row in cells), default=len(column))
        longest = max(longest, len(column))
        result.add_column(
            plain(column), overflow="fold", min_width=longest if longest <= 12 else None
        )
    for row in cells:
        result.add_row(*row)
    return result


def mark(markup: str) -> Text:
    """One of Slipway's own marks (``[green]✓[/]``) for a table cell."""
    return Text.from_markup(markup)
