"""Database check: the database answers ``SELECT 1`` with the credentials Slipway will use.

Connection errors are reported without the URL's password (psycopg's messages
name the host and user, not the password; ``scrub`` removes it anyway).
"""

from __future__ import annotations

import time

from slipway.checks.base import CheckResult
from slipway.database.dsn import Dsn, scrub


class DatabaseCheck:
    """``dsn`` accepts a connection and answers a query within ``timeout_s``."""

    def __init__(self, dsn: Dsn, *, timeout_s: float = 5.0, name: str | None = None) -> None:
        self.dsn = dsn
        self.timeout_s = timeout_s
        self.name = name or "database reachable"

    def probe(self) -> CheckResult:
        import psycopg  # on use only: every deployment imports the checks, few have a database

        started = time.monotonic()
        try:
            with psycopg.connect(
                self.dsn.conninfo(), connect_timeout=max(1, round(self.timeout_s))
            ) as conn:
                version = conn.execute("SHOW server_version").fetchone()
        except psycopg.Error as exc:
            message = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", self.dsn)
            evidence = f"cannot query {self.dsn}: {type(exc).__name__}: {message}"
            return CheckResult("fail", evidence, time.monotonic() - started)
        elapsed = time.monotonic() - started
        server = version[0] if version else "?"
        return CheckResult(
            "pass", f"{self.dsn} answered in {elapsed * 1000:.0f} ms (PostgreSQL {server})", elapsed
        )
