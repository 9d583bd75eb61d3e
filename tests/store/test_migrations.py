"""Alembic's migrations on both stores: from every earlier revision to head, the schema ends as
the models say, and what the older schema held is still there."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

import slipway.store.runbook_tables  # noqa: F401  (its tables join the metadata)
from slipway.store import Store
from slipway.store.base import MIGRATIONS, SCHEMA_HEAD
from slipway.store.tables import metadata


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _upgrade(url: str, to: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, to)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'slipway.db'}"
    url: str = request.getfixturevalue("store_url")
    return url.replace("postgresql://", "postgresql+psycopg://")


def test_the_revisions_run_from_0001_to_head() -> None:
    found = revisions()
    assert found[0] == "0001" and found[-1] == SCHEMA_HEAD


@pytest.mark.parametrize("start", revisions()[:-1])
def test_upgrade_from_every_earlier_revision(empty_url: str, start: str) -> None:
    _upgrade(empty_url, start)
    engine = create_engine(empty_url)
    with engine.begin() as conn:  # a deployment recorded under the older schema
        conn.execute(
            text(
                "INSERT INTO deployments (id, app, environment, kind, version, strategy, status,"
                " started_at) VALUES ('d1', 'shop', 'prod', 'deploy', 'v1', 'rolling',"
                " 'succeeded', '2026-01-01T00:00:00Z')"
            )
        )
    engine.dispose()
    store = Store.open(empty_url)  # what a runner does: upgrade to head on open
    try:
        assert store.deployment("d1").version == "v1"
        with store._engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.close()


def test_upgrade_keeps_the_current_release_for_every_host(empty_url: str) -> None:
    """Before per-host records a fleet had one current release: after the upgrade every host
    runs it until a deployment switches that host."""
    _upgrade(empty_url, "0009_api_tokens")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO deployments (id, app, environment, kind, version, strategy, status,"
                " started_at) VALUES ('d1', 'shop', 'prod', 'deploy', 'v1', 'rolling',"
                " 'succeeded', '2026-01-01T00:00:00Z')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO current_releases (app, environment, version, deployment_id,"
                " updated_at) VALUES ('shop', 'prod', 'v1', 'd1', '2026-01-01T00:01:00Z')"
            )
        )
    engine.dispose()
    store = Store.open(empty_url)
    try:
        before = store.current("shop", "prod")
        assert before is not None
        assert before.versions(["web1", "web2"]) == {"web1": "v1", "web2": "v1"}
        store.create_deployment(
            deployment_id="d2",
            app="shop",
            environment="prod",
            kind="deploy",
            version="v2",
            previous_version="v1",
            strategy="rolling",
        )
        store.update_deployment("d2", status="succeeded")
        store.set_current(
            "shop", "prod", version="v2", digest=None, deployment_id="d2", hosts=["web2"]
        )
        after = store.current("shop", "prod")
        assert after is not None
        assert after.versions(["web1", "web2"]) == {"web1": "v1", "web2": "v2"}
        assert store.previous_on("shop", "prod", ["web2"], current="v2") == "v1"
        assert store.hosts_of(["d1", "d2"]) == {"d2": ["web2"]}
    finally:
        store.close()
