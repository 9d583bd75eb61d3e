"""The store's connection, transactions and schema migration, shared by every part of it.

``Store`` is assembled from this base and one mixin per kind of record
(deployments and steps in ``api``, signals, analysis runs …), so a new kind of
record is one new module rather than a longer ``api.py``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from slipway.clock import Clock, SystemClock, utc_iso
from slipway.errors import StoreError
from slipway.redact import SECRETS, scrub

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (a test keeps the two equal). Knowing it here lets
# a store already at head open without importing Alembic, which costs a CLI half a second.
SCHEMA_HEAD = "0007_flags"


class StoreBase:
    """A connection pool, the write lock that serialises writers, and the clock."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None) -> Self:
        """Connect and migrate to the latest schema."""
        shown = url
        try:
            parsed = make_url(url)
            SECRETS.add(parsed.password if isinstance(parsed.password, str) else None)
            shown = parsed.render_as_string(hide_password=True)
            engine = create_engine(parsed)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            with engine.begin() as conn:
                _migrate(conn)
        except (SQLAlchemyError, ValueError) as exc:
            raise StoreError(f"cannot open the store at {shown}: {scrub(str(exc))}") from exc
        return cls(engine, clock=clock)

    @classmethod
    def for_state_dir(cls, state_dir: Path, *, clock: Clock | None = None) -> Self:
        """The SQLite store of a state directory, both private to this user: the directory is
        created 0700 and ``slipway.db`` 0600 (SQLite gives its -wal and -shm files the mode
        of the database). Existing ones keep their modes."""
        state_dir.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            state_dir.mkdir(mode=0o700)
        db = state_dir / "slipway.db"
        try:
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create the store {db}: {exc.strerror}") from exc
        return cls.open(f"sqlite:///{db}", clock=clock)

    def close(self) -> None:
        self._engine.dispose()

    def now(self) -> str:
        return utc_iso(self._clock.now())

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock:
            try:
                with self._engine.begin() as conn:
                    yield conn
            except SQLAlchemyError as exc:
                raise StoreError(f"store write failed: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store read failed: {exc}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def schema_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _migrate(conn: Connection) -> None:
    if schema_revision(conn) == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
