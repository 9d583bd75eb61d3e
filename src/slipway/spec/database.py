"""``database:``: the environment's PostgreSQL, its backups and its migration."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from slipway.spec.base import Argv, EnvName, Model
from slipway.spec.base import LongSeconds as Seconds


class DjangoMigrations(Model):
    """Django's migrations, understood: ``slipway plan`` shows ``migrate --plan`` per app;
    each app's migration is recorded before migrating, and ``showmigrations`` checked after;
    the rehearsal reads ``sqlmigrate`` and refuses destructive operations (DROP COLUMN/TABLE,
    NOT NULL without a default, renames) unless the release is a contract step; a rollback
    offers ``migrate <app> <previous>`` when every migration applied can be reversed."""

    python: str = Field(".venv/bin/python", description="Relative to the release directory.")
    manage: str = "manage.py"
    contract: list[str] = Field(
        default_factory=list,
        description="Releases that are the contract step of an expand-contract pair: their "
        "destructive operations are expected (the expand release shipped before them).",
    )
    migrate_back: bool = Field(
        True, description="On rollback, offer `migrate <app> <previous>` instead of a restore."
    )


class MigrationSpec(Model):
    command: Argv = Field(..., description="argv run in the new release's directory.")
    timeout_s: Seconds = 600.0
    django: DjangoMigrations | None = None
    maintenance: bool = Field(
        False,
        description="Serve the router's maintenance page while the migration runs (it blocks "
        "writes): `router.maintenance` says what the page is.",
    )


class DatabaseSpec(Model):
    """A PostgreSQL database: backed up before migrations, migrations rehearsed on a copy."""

    type: Literal["postgresql"] = "postgresql"
    url_env: EnvName = Field(
        "DATABASE_URL", description="Variable holding the URL (postgresql://user:pw@host/db)."
    )
    backup_dir: str = Field("backups", description="Where dumps go, relative to the state dir.")
    keep_backups: int = Field(10, ge=1, le=1000)
    migrate: MigrationSpec | None = None
    rehearse: bool = Field(True, description="Try the migration on a restored copy first.")
    restore_on_rollback: Literal["ask", "never"] = Field(
        "ask", description="Offer a restore behind a gate when a rollback follows a migration."
    )
    timeout_s: Seconds = Field(600.0, description="Longest pg_dump / pg_restore.")
