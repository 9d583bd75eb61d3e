"""A real PostgreSQL cluster for tests: initdb in a temp dir, on a loopback port, torn down.

PostgreSQL refuses to run as root; as root the server runs as the ``postgres``
system user that Debian's ``postgresql`` package creates (through ``runuser``),
otherwise as the current user. Password authentication over TCP is real
(scram-sha-256), so a wrong password fails as it would in production.
One cluster serves a test session; each test gets its own database.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.support.sample import free_port_range


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError(
            "PostgreSQL's server is not installed (Debian: apt-get install postgresql)"
        )
    return Path(initdb).parent


class PostgresCluster:
    user = "slipway_test"

    def __init__(self, *, listen: str = "127.0.0.1", allow: str | None = None) -> None:
        """``listen``: the one address it listens on; ``allow``: a network (CIDR) whose clients
        may log in with the password, beside loopback (a test network's runners)."""
        self.listen = listen
        self.allow = allow
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix=f"slipway-pg-{os.getpid()}-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.port = free_port_range(1)
        self.password = "pw-" + secrets.token_urlsafe(12)
        self.as_postgres = os.geteuid() == 0

    def _cmd(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_postgres else list(argv)

    def start(self) -> None:
        self.sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if self.as_postgres:
            for path in (self.root, self.sockets, pwfile):
                shutil.chown(path, "postgres", "postgres")
        subprocess.run(
            self._cmd(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user,
                f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                "-E", "UTF8", "--no-sync", "--no-instructions",
            ),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        if self.allow:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {self.allow} scram-sha-256\n")
        options = (
            f"-c listen_addresses={self.listen} -c port={self.port} "
            f"-c unix_socket_directories={self.sockets} -c fsync=off -c max_connections=100"
        )
        subprocess.run(
            self._cmd(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                "-o", options, "-w", "-t", "60", "start",
            ),
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            subprocess.run(
                self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                capture_output=True, timeout=30,
            )  # fmt: skip
        pidfile = self.data / "postmaster.pid"
        if pidfile.exists():  # pg_ctl failed: kill the postmaster we started, by its PID
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pidfile.read_text().splitlines()[0]), signal.SIGKILL)
                time.sleep(0.5)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres", *, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@{self.listen}:{self.port}/{dbname}"

    def execute(self, dbname: str, statement: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cursor = conn.execute(statement)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def databases(self) -> list[str]:
        return [str(r[0]) for r in self.execute("postgres", "SELECT datname FROM pg_database")]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One real cluster for the test session, stopped (by PID if need be) at its end."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def database_url(postgres: PostgresCluster) -> str:
    """A new database ``shop_<token>`` with an ``orders`` table of 3 rows; its URL."""
    name = f"shop_{secrets.token_hex(4)}"
    postgres.create_database(name)
    postgres.execute(name, "CREATE TABLE orders (id serial PRIMARY KEY, total numeric NOT NULL)")
    postgres.execute(name, "INSERT INTO orders (total) VALUES (12.50), (99.90), (7.00)")
    return postgres.url(name)


@pytest.fixture
def store_url(postgres: PostgresCluster) -> str:
    """A new, empty database ``store_<token>`` for a Slipway store; its URL."""
    name = f"store_{secrets.token_hex(4)}"
    postgres.create_database(name)
    return postgres.url(name)
