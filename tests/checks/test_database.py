"""Database check against a real PostgreSQL: reachable, wrong password, nothing listening."""

from __future__ import annotations

from slipway.checks.database import DatabaseCheck
from slipway.database.dsn import Dsn
from tests.support.postgres import PostgresCluster
from tests.support.sample import free_port_range


def test_reachable(database_url: str) -> None:
    result = DatabaseCheck(Dsn.parse(database_url)).probe()
    assert result.status == "pass", result.evidence
    assert "answered in" in result.evidence and "PostgreSQL" in result.evidence


def test_wrong_password_fails_without_showing_it(postgres: PostgresCluster) -> None:
    result = DatabaseCheck(Dsn.parse(postgres.url(password="not-the-password-42"))).probe()
    assert result.status == "fail"
    assert "password authentication failed" in result.evidence
    assert "not-the-password-42" not in result.evidence
    assert postgres.password not in result.evidence


def test_nothing_listening_fails() -> None:
    port = free_port_range(1)
    result = DatabaseCheck(Dsn.parse(f"postgresql://u:pw@127.0.0.1:{port}/db"), timeout_s=2).probe()
    assert result.status == "fail"
    assert f"127.0.0.1:{port}" in result.evidence
