"""A real PgBouncer in transaction mode in front of the test PostgreSQL, torn down by its PID.

Transaction mode is what teams run in front of a shared database: each transaction may go to
another server connection, so session state (``SET``, session advisory locks, prepared
statements — PgBouncer 1.18 here cannot carry them) does not survive from one transaction to
the next. PgBouncer refuses to run as root: as root it runs as ``postgres`` (``runuser``), like
the cluster.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresCluster
from tests.support.sample import free_port_range

PGBOUNCER = "/usr/sbin/pgbouncer"

CONFIG = """\
[databases]
* = host=127.0.0.1 port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {root}/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
"""


class PgBouncer:
    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster
        self.root = Path(tempfile.mkdtemp(prefix=f"slipway-pgb-{os.getpid()}-"))
        self.port = free_port_range(1)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self.root / "pgbouncer.ini"
        config.write_text(
            CONFIG.format(server_port=self.cluster.port, port=self.port, root=self.root)
        )
        users = self.root / "userlist.txt"
        users.write_text(f'"{self.cluster.user}" "{self.cluster.password}"\n')
        users.chmod(0o600)
        argv = [PGBOUNCER, str(config)]
        if self.cluster.as_postgres:
            for path in (self.root, config, users):
                shutil.chown(path, "postgres", "postgres")
            argv = ["runuser", "-u", "postgres", "--", *argv]
        self.process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = (self.root / "pgbouncer.log").read_text(errors="replace")[-800:]
        raise RuntimeError(f"pgbouncer did not start: {log}")

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str) -> str:
        c = self.cluster
        return f"postgresql://{c.user}:{c.password}@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture
def pgbouncer(postgres: PostgresCluster) -> Iterator[PgBouncer]:
    bouncer = PgBouncer(postgres)
    try:
        bouncer.start()
        yield bouncer
    finally:
        bouncer.stop()
