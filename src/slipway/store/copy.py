"""Copying a store's history into another: a laptop's SQLite into the team's PostgreSQL.

``slipway store migrate --to-env VAR`` calls ``copy_history``. It is idempotent — run it twice,
or after another engineer copied their own history in, and nothing is copied twice — and it
verifies: every row of the source is in the target afterwards, table by table.

A row is "already there" when the target has a row with the same key: the primary key where
it means something (a deployment's id, a backup's id, an environment's current release),
otherwise — rows numbered by the database (steps, events, signals …), whose numbers collide
between two laptops' files — the row's whole content apart from its number. Deployments' ids
carry a timestamp and random hex, so two runners' histories never share one.

The lease and the waiting queue are not copied: they belong to runners alive now, and the
target's are the ones that count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Column, Table, insert, select

from slipway.store.api import Store
from slipway.store.runbook_tables import (
    backups,
    check_runs,
    deployment_notes,
    drills,
    notifications,
    rehearsals,
)
from slipway.store.tables import (
    analysis_runs,
    current_releases,
    deployments,
    events,
    host_releases,
    signals,
    steps,
)

# parents before children (steps, events … name their deployment)
COPIED: tuple[Table, ...] = (
    deployments,
    steps,
    events,
    signals,
    analysis_runs,
    current_releases,
    host_releases,
    deployment_notes,
    check_runs,
    backups,
    rehearsals,
    notifications,
    drills,
)
CHUNK = 500


@dataclass(frozen=True)
class TableCopy:
    table: str
    source: int  # rows in the source
    copied: int  # rows written to the target now
    present: int  # rows the target had already
    verified: bool  # every source row is in the target now

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def copy_history(source: Store, target: Store) -> list[TableCopy]:
    """Copy every record of ``source`` that ``target`` lacks; one report per table."""
    return [_copy_table(source, target, table) for table in COPIED]


def _numbered(table: Table) -> bool:
    """Rows numbered by the database: their number means nothing in another store."""
    pk = list(table.primary_key.columns)
    return len(pk) == 1 and pk[0].autoincrement is True and pk[0].name == "id"


def _key_columns(table: Table) -> list[Column[Any]]:
    if _numbered(table):
        return [c for c in table.columns if c.name != "id"]
    return list(table.primary_key.columns)


def _rows(store: Store, table: Table) -> list[dict[str, Any]]:
    with store._read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table))]


def _keys(
    rows: Sequence[dict[str, Any]], columns: Sequence[Column[Any]]
) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(row[c.name] for c in columns) for row in rows)


def _copy_table(source: Store, target: Store, table: Table) -> TableCopy:
    columns = _key_columns(table)
    wanted = _rows(source, table)
    have = _keys(_rows(target, table), columns)
    missing = []
    for row in wanted:
        key = tuple(row[c.name] for c in columns)
        if have[key] > 0:
            have[key] -= 1
            continue
        missing.append({k: v for k, v in row.items() if not (_numbered(table) and k == "id")})
    with target._write() as conn:
        for start in range(0, len(missing), CHUNK):
            conn.execute(insert(table), missing[start : start + CHUNK])
    after = _keys(_rows(target, table), columns)
    verified = not (_keys(wanted, columns) - after)
    return TableCopy(
        table=table.name,
        source=len(wanted),
        copied=len(missing),
        present=len(wanted) - len(missing),
        verified=verified,
    )
