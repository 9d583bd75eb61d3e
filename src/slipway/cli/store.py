"""``slipway store migrate``: this machine's SQLite history into the team's PostgreSQL.

The copy itself is ``slipway.store.copy``: this only opens both stores, asks and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slipway.cli.base import DEFAULT_FILE, FileOpt, Output, OutputOpt, app, out, reports_errors

store_app = typer.Typer(no_args_is_help=True, help="The store: where the history and locks live.")
app.add_typer(store_app, name="store")


@store_app.command("migrate")
@reports_errors
def migrate(
    to_env: Annotated[
        str,
        typer.Option("--to-env", metavar="VAR", help="Variable holding the PostgreSQL URL."),
    ],
    file: FileOpt = Path(DEFAULT_FILE),
    output: OutputOpt = Output.text,
) -> None:
    """Copy the SQLite history of this spec's state directory into PostgreSQL (idempotent:
    rows already there are not copied again), then verify every row arrived."""
    from slipway.database.store_url import postgres_store
    from slipway.spec import load_spec
    from slipway.store import Store
    from slipway.store.copy import copy_history
    from slipway.view import print_json, table

    loaded = load_spec(file)
    source = Store.for_state_dir(loaded.root / loaded.spec.state_dir)
    target = postgres_store(to_env)
    try:
        report = copy_history(source, target)
        where = target.location
    finally:
        source.close()
        target.close()
    ok = all(t.verified for t in report)
    if output is Output.json:
        print_json({"target": where, "tables": [t.as_dict() for t in report], "verified": ok})
    else:
        rows = [
            (t.table, t.source, t.copied, t.present, "yes" if t.verified else "NO") for t in report
        ]
        out().print(
            table(
                f"SQLite → {where}",
                ["table", "rows here", "copied", "already there", "verified"],
                rows,
            )
        )
        out().print("every row is in the team's store" if ok else "some rows are missing")
    if not ok:
        raise typer.Exit(1)
