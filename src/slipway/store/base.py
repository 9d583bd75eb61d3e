"""The store's connection, transactions and schema migration, shared by every part of it.

``Store`` is assembled from this base and one mixin per kind of record
(deployments and steps in ``api``, signals, analysis runs …), so a new kind of
record is one new module rather than a longer ``api.py``.

Two databases, one schema: SQLite (WAL) in the state directory by default, PostgreSQL for a
team (``postgresql://…``, driven by psycopg 3). On PostgreSQL the pool is small (a runner
needs a connection for its steps and one for its lease), psycopg never prepares statements
(``prepare_threshold=None``: a PgBouncer in transaction mode hands each transaction to any
server connection, where a statement prepared on another does not exist), and nothing relies
on session state: the schema migration's guard is a *transaction* advisory lock, the
environment's lock is a row (``store/leases.py``). TCP keepalives and ``tcp_user_timeout``
make a cut network an error within seconds instead of a write that hangs for minutes.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from sqlalchemy import (
    URL,
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from slipway.clock import Clock, SystemClock, utc_iso
from slipway.errors import LeaseLost, StoreError
from slipway.redact import SECRETS, scrub
from slipway.store.tables import locks

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (a test keeps the two equal). Knowing it here lets
# a store already at head open without importing Alembic, which costs a CLI half a second.
SCHEMA_HEAD = "0010_host_releases"


@dataclass(frozen=True)
class Fence:
    """A runner's hold on an environment: the lease's token when it took it, and who it is."""

    app: str
    environment: str
    token: int
    holder: str


class StoreBase:
    """A connection pool, the write lock that serialises writers, and the clock."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._write_lock = threading.Lock()
        self._fence: Fence | None = None

    def fenced(self, fence: Fence) -> Self:
        """This store (same connections), every write of which first checks that ``fence`` is
        still the environment's newest lease, and holds the lease's row until it commits: a
        runner's handle on the store while it holds the lock."""
        other = copy.copy(self)
        other._fence = fence
        return other

    @property
    def fence(self) -> Fence | None:
        return self._fence

    @classmethod
    def open(cls, url: str | URL, *, clock: Clock | None = None) -> Self:
        """Connect and migrate to the latest schema."""
        shown = str(url)
        try:
            parsed = make_url(url)
            SECRETS.add(parsed.password if isinstance(parsed.password, str) else None)
            shown = parsed.render_as_string(hide_password=True)
            engine = _engine(parsed)
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

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def location(self) -> str:
        """Where the store is, without its password (for messages)."""
        return self._engine.url.render_as_string(hide_password=True)

    def now(self) -> str:
        return utc_iso(self._clock.now())

    @contextmanager
    def _write(self, *, fenced: bool = True) -> Iterator[Connection]:
        """One write transaction; on a fenced store it writes only while the lease is ours."""
        with self._write_lock:
            try:
                with self._engine.begin() as conn:
                    if conn.dialect.name == "sqlite":
                        # the write lock first: what is read next cannot change before the commit
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    if fenced and self._fence is not None:
                        _check_fence(conn, self._fence)
                    yield conn
            except SQLAlchemyError as exc:
                raise StoreError(f"store write failed: {scrub(str(exc))}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"store read failed: {exc}") from exc


# built once: it runs before every fenced write, and building it costs more than running it
_FENCE = (
    update(locks)
    .where(
        (locks.c.app == bindparam("f_app"))
        & (locks.c.environment == bindparam("f_env"))
        & (locks.c.token == bindparam("f_token"))
        & (locks.c.holder == bindparam("f_holder"))
    )
    .values(token=locks.c.token)
)


def _check_fence(conn: Connection, fence: Fence) -> None:
    """The lease is still ``fence``'s: a no-op update of its row that matches only then (and
    locks the row on PostgreSQL until the transaction ends, so no takeover comes in between)."""
    held = conn.execute(
        _FENCE,
        {
            "f_app": fence.app,
            "f_env": fence.environment,
            "f_token": fence.token,
            "f_holder": fence.holder,
        },
    ).rowcount
    if held == 1:
        return
    now = conn.execute(
        select(locks.c.token, locks.c.holder).where(
            (locks.c.app == fence.app) & (locks.c.environment == fence.environment)
        )
    ).one_or_none()
    if now is not None and now.token > fence.token:
        by = f" of {now.holder}" if now.holder else ""
        what = f"lease token {now.token}{by} is newer than its {fence.token}: taken over"
    elif now is None or now.holder is None:
        what = "its lease was released by force"
    else:
        what = f"the lease is {now.holder}'s"
    raise LeaseLost(
        f"this runner no longer holds {fence.app}/{fence.environment}: {what}. It stops here "
        "and writes nothing more",
        hint="the runner holding the lease now (or `slipway resume`) finishes the deployment",
    )


def _engine(url: URL) -> Engine:
    if url.get_backend_name() != "postgresql":
        engine = create_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url.set(drivername="postgresql+psycopg"),
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=10,
        pool_pre_ping=True,  # a server connection PgBouncer or a restart closed is replaced
        pool_recycle=300,
        connect_args=POSTGRES_CONNECT_ARGS,
    )


POOL_SIZE = 2  # the engine's thread and the lease's renewals
POOL_OVERFLOW = 4  # a fleet's parallel steps write too
POSTGRES_CONNECT_ARGS: dict[str, Any] = {
    "prepare_threshold": None,  # never prepare: PgBouncer in transaction mode
    "connect_timeout": 5,
    "application_name": "slipway",
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 5000,  # ms: unacknowledged data for this long is a broken connection
}


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
    if conn.dialect.name == "postgresql":
        # Runners of a team may open a new store at once: one migrates, the others wait for its
        # transaction and find the schema at head. Transaction-scoped, so PgBouncer-safe.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('slipway-schema'))"))
        if schema_revision(conn) == SCHEMA_HEAD:
            return
    elif conn.dialect.name == "sqlite":
        # the same on one machine (a flag server and a CLI opening a new store at once): the
        # write lock first, the others wait for it (busy_timeout) and find the schema at head
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        if schema_revision(conn) == SCHEMA_HEAD:
            return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
