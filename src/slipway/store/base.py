"""The store's connection, transactions and schema migration, shared by every part of it.

``Store`` is assembled from this base and one mixin per kind of record
(deployments and steps in ``api``, signals, analysis runs …), so a new kind of
record is one new module rather than a longer ``api.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from slipway.clock import Clock, SystemClock, utc_iso
from slipway.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (a test keeps the two equal). Knowing it here lets
# a store already at head open without importing Alembic, which costs a CLI half a second.
SCHEMA_HEAD = "0006_signal_os_user"


class StoreBase:
    """A connection pool, the write lock that serialises writers, and the clock."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None) -> Self:
        """Connect and migrate to the latest schema."""
        try:
            engine = create_engine(url)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            with engine.begin() as conn:
                _migrate(conn)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store at {url}: {exc}") from exc
        return cls(engine, clock=clock)

    @classmethod
    def for_state_dir(cls, state_dir: Path, *, clock: Clock | None = None) -> Self:
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls.open(f"sqlite:///{state_dir / 'slipway.db'}", clock=clock)

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
