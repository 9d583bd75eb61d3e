"""Database URLs: the password goes to libpq and nowhere else."""

from __future__ import annotations

import pytest

from slipway.database.dsn import Dsn, scrub
from slipway.errors import UsageError

URL = "postgresql://shop:hunter2-secret@127.0.0.1:5433/shop?sslmode=disable"


def test_password_is_kept_apart() -> None:
    dsn = Dsn.parse(URL)
    assert str(dsn) == "postgresql://shop@127.0.0.1:5433/shop"
    assert "hunter2" not in repr(dsn)
    assert "hunter2" not in str(dsn.params)
    env = dsn.libpq_env()
    assert env == {
        "PGHOST": "127.0.0.1",
        "PGPORT": "5433",
        "PGUSER": "shop",
        "PGDATABASE": "shop",
        "PGSSLMODE": "disable",
        "PGPASSWORD": "hunter2-secret",
    }
    assert "password=hunter2-secret" in dsn.conninfo()


def test_scratch_database_keeps_the_rest() -> None:
    scratch = Dsn.parse(URL).with_database("shop_rehearsal_1")
    assert scratch.dbname == "shop_rehearsal_1"
    assert scratch.password == "hunter2-secret"
    with pytest.raises(UsageError):
        Dsn.parse(URL).with_database("x; DROP DATABASE shop")


def test_from_env_and_bad_urls_never_echo_the_password() -> None:
    with pytest.raises(UsageError, match=r"\$DATABASE_URL is not set"):
        Dsn.from_env("DATABASE_URL", {})
    with pytest.raises(UsageError) as bad:
        Dsn.from_env("DATABASE_URL", {"DATABASE_URL": "postgresql://u:hunter2@h:notaport:x/db?=="})
    assert "hunter2" not in str(bad.value)
    with pytest.raises(UsageError, match="names no database"):
        Dsn.parse("postgresql://u:pw@127.0.0.1:5432")
    with pytest.raises(UsageError, match="does not pass on"):
        Dsn.parse("postgresql://u:pw@127.0.0.1/db?options=-csearch_path%3Dx")


def test_scrub_removes_the_password_from_program_output() -> None:
    dsn = Dsn.parse(URL)
    assert scrub("FATAL: password hunter2-secret rejected", dsn) == "FATAL: password *** rejected"
    assert scrub("anything", None) == "anything"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:Pa/ss@127.0.0.1:5/appdb",  # libpq: host app, port Pa, db ss@…
        "postgresql://app:Pa@ss@127.0.0.1:5432/appdb",  # libpq: password Pa, host ss@127.0.0.1
        "postgres://app:Pass@127.0.0.1:5432/app@db",
    ],
)
def test_an_unescaped_slash_or_at_in_the_password_is_refused(url: str) -> None:
    with pytest.raises(UsageError) as refused:
        Dsn.parse(url, source="$DATABASE_URL")
    assert "unescaped '@' or '/'" in str(refused.value)
    assert "percent-encode" in (refused.value.hint or "") and "%2F" in (refused.value.hint or "")
    assert "Pa/ss" not in str(refused.value) and "ss@" not in str(refused.value)


@pytest.mark.parametrize(
    "url", ["postgresql://app:pw@127.0.0.1:abc/db", "host=h port=5x dbname=d", "postgresql://h:0/d"]
)
def test_a_port_that_is_not_a_number_is_refused(url: str) -> None:
    with pytest.raises(UsageError, match="port of the database URL is not a number"):
        Dsn.parse(url)


def test_percent_encoded_password_is_decoded() -> None:
    dsn = Dsn.parse("postgresql://app:Pa%2Fss%40x@127.0.0.1:5432/appdb")
    assert dsn.password == "Pa/ss@x"
    assert (dsn.params["host"], dsn.params["port"], dsn.dbname) == ("127.0.0.1", "5432", "appdb")
