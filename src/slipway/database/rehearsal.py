"""Migration rehearsal: the migration, tried first on a copy of production's data.

The backup just taken is restored into a scratch database on the same server,
the migration command runs against it exactly as it will against production
(same program, same directory, the URL in the same variable), and the scratch
database is dropped whatever happened. A migration that fails here would
have failed on production: the deployment stops before anything is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from slipway.database.dsn import Dsn
from slipway.database.postgres import (
    Run,
    create_database,
    drop_database,
    restore_argv,
    run,
    scratch_name,
)


@dataclass(frozen=True)
class RehearsalResult:
    ok: bool
    scratch: str
    restore_s: float
    duration_s: float  # of the migration itself
    output: str


def run_migration(
    dsn: Dsn, command: Sequence[str], *, cwd: Path, url_env: str, timeout_s: float
) -> Run:
    """The migration command against ``dsn``: its URL in ``url_env`` and in ``PG*``."""
    return run(command, dsn=dsn, timeout_s=timeout_s, cwd=cwd, extra_env={url_env: dsn.url()})


def rehearse(
    dsn: Dsn,
    backup: Path,
    command: Sequence[str],
    *,
    cwd: Path,
    url_env: str,
    timeout_s: float,
    restore_timeout_s: float,
    inspect: Callable[[Dsn], str | None] | None = None,
) -> RehearsalResult:
    """``inspect`` looks at the restored copy before the migration runs there (what it would
    do); a reason it returns fails the rehearsal without running the migration."""
    name = scratch_name(dsn.dbname)
    scratch = dsn.with_database(name)
    create_database(dsn, name)
    try:
        restored = run(
            restore_argv(backup, name, clean=False), dsn=scratch, timeout_s=restore_timeout_s
        )
        if not restored.ok:
            output = f"restoring the backup into {name} failed: {restored.output}"
            return RehearsalResult(False, name, restored.duration_s, 0.0, output)
        refused = inspect(scratch) if inspect is not None else None
        if refused is not None:
            return RehearsalResult(False, name, restored.duration_s, 0.0, refused)
        migrated = run_migration(scratch, command, cwd=cwd, url_env=url_env, timeout_s=timeout_s)
        return RehearsalResult(
            migrated.ok, name, restored.duration_s, migrated.duration_s, migrated.output
        )
    finally:
        drop_database(dsn, name)


def restore(dsn: Dsn, backup: Path, *, timeout_s: float) -> Run:
    """Put ``backup`` back into ``dsn``'s database, in one transaction: what was written since
    the backup is lost. Only ever run behind a gate a person answered."""
    return run(restore_argv(backup, dsn.dbname, clean=True), dsn=dsn, timeout_s=timeout_s)
