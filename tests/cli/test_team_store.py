"""The team's store from the command line: a deployment recorded in PostgreSQL (chosen by the
spec, by --store-url-env, or by $SLIPWAY_STORE_URL), a laptop's SQLite history copied in with
``slipway store migrate``, and the URL's password in nothing printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from slipway.store import Store
from tests.conftest import stop_environment
from tests.support.postgres import PostgresCluster
from tests.support.sample import write_sample_spec

SLIPWAY = [sys.executable, "-m", "slipway"]


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SLIPWAY, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def seed_sqlite(state: Path, count: int) -> list[str]:
    """``count`` finished deployments with a step and an event each, in a SQLite store."""
    store = Store.for_state_dir(state)
    ids = []
    try:
        for i in range(count):
            dep = store.new_deployment_id()
            store.create_deployment(
                deployment_id=dep, app="shop", environment="test", kind="deploy",
                version=f"v{i + 1}", previous_version=f"v{i}" if i else None, strategy="rolling",
            )  # fmt: skip
            store.add_steps(
                dep,
                [{"seq": 0, "phase": "deploy", "group_no": 0, "kind": "mark_current",
                  "params": {"version": f"v{i + 1}"}, "description": "mark"}],
            )  # fmt: skip
            store.event(dep, f"v{i + 1} is live")
            store.update_deployment(dep, status="succeeded", ended_at=store.now())
            ids.append(dep)
        store.set_current("shop", "test", version=f"v{count}", digest=None, deployment_id=ids[-1])
    finally:
        store.close()
    return ids


def test_store_migrate_copies_once_and_verifies(
    tmp_path: Path, store_url: str, postgres: PostgresCluster
) -> None:
    spec = write_sample_spec(tmp_path)
    ids = seed_sqlite(tmp_path / "state", 3)
    url = {"TEAM_STORE": store_url}
    first = run("store", "migrate", "--to-env", "TEAM_STORE", "-f", spec, "-o", "json", env=url)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["verified"] and postgres.password not in first.stdout + first.stderr
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["deployments"] == {
        "table": "deployments", "source": 3, "copied": 3, "present": 0, "verified": True
    }  # fmt: skip
    assert tables["steps"]["copied"] == 3 and tables["events"]["copied"] == 3
    again = run("store", "migrate", "--to-env", "TEAM_STORE", "-f", spec, "-o", "json", env=url)
    tables = {t["table"]: t for t in json.loads(again.stdout)["tables"]}
    assert all(t["copied"] == 0 and t["verified"] for t in tables.values()), tables
    assert tables["events"]["present"] == 3
    # the team's history is the laptop's now, seen through --store-url-env
    history = run("--store-url-env", "TEAM_STORE", "history", "-f", spec, "-o", "json", env=url)
    assert history.returncode == 0, history.stderr
    assert {d["id"] for d in json.loads(history.stdout)["deployments"]} == set(ids)
    text = run("store", "migrate", "--to-env", "TEAM_STORE", "-f", spec, env=url)
    assert "every row is in the team's store" in text.stdout
    assert postgres.password not in text.stdout + text.stderr


def test_a_deployment_recorded_in_postgresql_chosen_by_the_spec(
    tmp_path: Path, store_url: str, postgres: PostgresCluster
) -> None:
    spec = write_sample_spec(tmp_path, count=1, extra="store: {url_env: SHOP_STORE}\n")
    env = {"SHOP_STORE": store_url}
    try:
        deployed = run("deploy", "-f", spec, "--version", "v1", "-o", "json", env=env)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        assert postgres.password not in deployed.stdout + deployed.stderr
        store = Store.open(store_url)
        try:
            [dep] = store.deployments("shop", "test")
            assert dep.status == "succeeded" and store.current("shop", "test").version == "v1"  # type: ignore[union-attr]
        finally:
            store.close()
        local = Store.for_state_dir(tmp_path / "state")
        try:
            assert local.deployments("shop", "test") == []  # nothing went to SQLite
        finally:
            local.close()
        # $SLIPWAY_STORE_URL alone chooses it too, for a spec that names no store
        (tmp_path / "other").mkdir()
        plain = write_sample_spec(tmp_path / "other", count=1)
        seen = run("history", "-f", plain, "-o", "json", env={"SLIPWAY_STORE_URL": store_url})
        assert [d["version"] for d in json.loads(seen.stdout)["deployments"]] == ["v1"]
    finally:
        stop_environment(load_env(spec))


def test_an_unset_store_variable_is_a_usage_error(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, count=1, extra="store: {url_env: SHOP_STORE}\n")
    result = run("history", "-f", spec, env={"SHOP_STORE": ""})
    assert result.returncode == 2 and "$SHOP_STORE is not set" in result.stderr


def test_a_wrong_password_is_said_without_the_password(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    spec = write_sample_spec(tmp_path, count=1)
    wrong = "pw-Wr0ngBut-Secret-77"
    result = run("history", "-f", spec, env={"SLIPWAY_STORE_URL": postgres.url(password=wrong)})
    assert result.returncode == 1 and "cannot open the store" in result.stderr
    assert wrong not in result.stdout + result.stderr


def load_env(spec: Path):  # type: ignore[no-untyped-def]
    from slipway.spec import load_spec

    return load_spec(spec).environment("test")
