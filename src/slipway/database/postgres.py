"""PostgreSQL through its own tools: ``pg_dump -Fc``, ``pg_restore --list``, ``pg_restore``.

The tools get the address and the password through ``PG*`` variables (never
argv, which ``ps`` shows to every user), and whatever they print is scrubbed of
the password before it is kept. ``dump_argv`` and friends are the one place
the command lines are written, so the rendered runbook shows exactly what runs.

A backup is written to a temporary name and renamed only once ``pg_dump``
succeeded, so a file named like a backup is a whole one. Scratch databases for
rehearsals are created and dropped with psycopg (``DROP ... WITH (FORCE)``, so a
migration that left a connection open cannot keep one alive).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slipway.database.dsn import Dsn, scrub
from slipway.errors import BackendError

if TYPE_CHECKING:
    from psycopg.sql import Composed

OUTPUT_CHARS = 2000
CHUNK = 1 << 20


@dataclass(frozen=True)
class Dump:
    path: Path
    size_bytes: int
    sha256: str
    duration_s: float


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    evidence: str


@dataclass(frozen=True)
class Run:
    """A program's outcome: its exit code, its scrubbed output, how long it took."""

    code: int
    output: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.code == 0


def dump_argv(path: Path | str) -> list[str]:
    return ["pg_dump", "--format=custom", "--no-password", f"--file={path}"]


def list_argv(path: Path | str) -> list[str]:
    return ["pg_restore", "--list", str(path)]


def restore_argv(path: Path | str, dbname: str, *, clean: bool) -> list[str]:
    argv = ["pg_restore", "--no-password", "--no-owner", "--exit-on-error", f"--dbname={dbname}"]
    if clean:
        argv += ["--clean", "--if-exists", "--single-transaction"]
    return [*argv, str(path)]


def run(
    argv: Sequence[str],
    *,
    dsn: Dsn,
    timeout_s: float,
    cwd: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Run:
    """Run a program with ``dsn`` in its environment; never raises for the program failing."""
    env = {**os.environ, **dsn.libpq_env(), **(extra_env or {})}
    started = time.monotonic()
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            cwd=cwd,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        hint = "install PostgreSQL's client tools (Debian: apt-get install postgresql-client)"
        return Run(127, f"{argv[0]} not found: {hint}", time.monotonic() - started)
    except subprocess.TimeoutExpired as exc:
        text = _text((exc.stdout or b"") + (exc.stderr or b""), dsn)
        return Run(124, f"timed out after {timeout_s:g}s: {text}", time.monotonic() - started)
    text = _text(done.stdout + done.stderr, dsn)
    return Run(done.returncode, text, time.monotonic() - started)


def _text(raw: bytes, dsn: Dsn) -> str:
    return scrub(raw.decode(errors="replace"), dsn).strip()[-OUTPUT_CHARS:]


def dump(dsn: Dsn, directory: Path, name: str, *, timeout_s: float) -> Dump:
    """``pg_dump -Fc`` of ``dsn`` into ``directory/name``; ``BackendError`` if it fails."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = directory / name
    partial = directory / f".{name}.partial"
    result = run(dump_argv(partial), dsn=dsn, timeout_s=timeout_s)
    if not result.ok:
        partial.unlink(missing_ok=True)
        raise BackendError(f"pg_dump of {dsn} failed (exit {result.code}): {result.output}")
    partial.chmod(0o600)  # a dump holds every row: as private as the database
    partial.rename(final)
    digest = sha256_of(final)
    return Dump(final, final.stat().st_size, digest, result.duration_s)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, *, timeout_s: float) -> Verification:
    """``pg_restore --list`` reads the whole archive's table of contents."""
    result = run(list_argv(path), dsn=Dsn(params={"dbname": "unused"}), timeout_s=timeout_s)
    if not result.ok:
        return Verification(
            False, 0, f"pg_restore --list failed (exit {result.code}): {result.output}"
        )
    entries = sum(1 for line in result.output.splitlines() if re.match(r"^\d+;", line))
    if entries == 0:
        return Verification(False, 0, "pg_restore --list found no entries")
    return Verification(True, entries, f"pg_restore --list: {entries} entries")


def scratch_name(dbname: str) -> str:
    """A database name for a rehearsal: recognisable, unique, at most 63 bytes."""
    return f"{dbname[:40]}_rehearsal_{secrets.token_hex(4)}"


def create_database(dsn: Dsn, name: str) -> None:
    from psycopg import sql  # psycopg on use only: a deployment without a database never pays

    _admin(dsn, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(dsn: Dsn, name: str) -> None:
    from psycopg import sql

    query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    _admin(dsn, query)


def databases(dsn: Dsn) -> list[str]:
    import psycopg

    try:
        with psycopg.connect(dsn.conninfo(), autocommit=True, connect_timeout=10) as conn:
            rows = conn.execute("SELECT datname FROM pg_database ORDER BY datname").fetchall()
    except psycopg.Error as exc:
        raise BackendError(f"cannot list the databases of {dsn}: {_first_line(exc, dsn)}") from None
    return [r[0] for r in rows]


def _admin(dsn: Dsn, query: Composed) -> None:
    # CREATE/DROP DATABASE cannot run in a transaction: autocommit
    import psycopg

    try:
        with psycopg.connect(dsn.conninfo(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(query)
    except psycopg.Error as exc:
        raise BackendError(f"{query.as_string(None)} on {dsn}: {_first_line(exc, dsn)}") from None


def _first_line(exc: BaseException, dsn: Dsn) -> str:
    lines = str(exc).strip().splitlines()
    return scrub(lines[0] if lines else type(exc).__name__, dsn)
