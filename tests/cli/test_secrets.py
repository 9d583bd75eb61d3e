"""Secrets as a user meets them: a pre-flight command that prints `$DATABASE_URL`, a database
URL whose password needs escaping — the CLI run as a user runs it, against a real PostgreSQL.

Nothing the CLI prints (the Go/No-Go table, `--output json`, `slipway logs`) and nothing in
the store's file holds a secret value, in any of its forms.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import sys
from pathlib import Path
from urllib.parse import quote

from psycopg import sql

from slipway.spec import load_spec
from tests.cli.test_check import append, slipway
from tests.support.postgres import PostgresCluster

PRINTS_SECRETS = (
    "import os; print('url', os.environ['DATABASE_URL']); print('token', os.environ['APP_TOKEN'])"
)


def store_dump(spec_file: Path) -> str:
    """Every row of the environment's SQLite store, as SQL text (what `sqlite3 .dump` shows)."""
    db = load_spec(spec_file).environment("test").state_dir.parent / "slipway.db"
    with sqlite3.connect(db) as conn:
        return "\n".join(conn.iterdump())


def role(postgres: PostgresCluster, password: str) -> str:
    """A login role ``app_<hex>`` with ``password`` (which holds '/' and '@'); its name."""
    name = f"app_{secrets.token_hex(3)}"
    statement = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
        sql.Identifier(name), sql.Literal(password)
    )
    postgres.execute("postgres", statement.as_string())
    return name


def sections(python: str = sys.executable) -> str:
    return f"""
database: {{url_env: DATABASE_URL}}
checks:
  - {{type: command, name: prints its environment, command: [{python}, -c, "{PRINTS_SECRETS}"]}}
  - {{type: env, variables: [APP_TOKEN], secret: true}}
  - {{type: database}}
"""


def test_secrets_never_reach_the_table_the_json_or_the_store(
    spec_file: Path, postgres: PostgresCluster
) -> None:
    password = f"Pa/ss@{secrets.token_hex(4)}"
    user = role(postgres, password)
    url = f"postgresql://{user}:{quote(password, safe='')}@127.0.0.1:{postgres.port}/postgres"
    token = f"tok-{secrets.token_hex(6)}"
    append(spec_file, sections())
    environ = {"DATABASE_URL": url, "APP_TOKEN": token}
    forms = [password, quote(password, safe=""), url, token]

    table = slipway("check", "-f", spec_file, extra_env=environ)
    assert table.returncode == 0, table.stdout + table.stderr  # PostgreSQL accepted the password
    as_json = slipway("check", "-f", spec_file, "--output", "json", extra_env=environ)
    assert as_json.returncode == 0, as_json.stderr
    rows = {c["name"]: c for c in json.loads(as_json.stdout)["checks"]}
    assert rows["prints its environment"]["evidence"] == "exit 0: url ***\ntoken ***"
    assert rows["database reachable"]["status"] == "pass"
    assert "url ***" in table.stdout and "token ***" in table.stdout
    dump = store_dump(spec_file)
    assert "token ***" in dump
    for shown in (table.stdout, table.stderr, as_json.stdout, as_json.stderr, dump):
        for form in forms:
            assert form not in shown


def test_a_password_with_an_unescaped_slash_is_refused_without_showing_it(
    spec_file: Path, postgres: PostgresCluster
) -> None:
    password = f"Pa/ss{secrets.token_hex(4)}"
    user = role(postgres, password)
    append(spec_file, sections())
    raw = f"postgresql://{user}:{password}@127.0.0.1:{postgres.port}/postgres"
    environ = {"DATABASE_URL": raw, "APP_TOKEN": "tok-unused-here"}
    result = slipway("check", "-f", spec_file, "--output", "json", extra_env=environ)
    assert result.returncode == 4, result.stdout + result.stderr
    database = json.loads(result.stdout)["checks"][2]
    assert database["status"] == "fail"
    assert "unescaped '@' or '/'" in database["evidence"]
    assert "percent-encode" in database["evidence"]
    assert password not in result.stdout + result.stderr
    assert password.split("/")[1] not in result.stdout + result.stderr
    encoded = raw.replace(password, quote(password, safe=""))
    fixed = slipway("check", "-f", spec_file, extra_env={**environ, "DATABASE_URL": encoded})
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
