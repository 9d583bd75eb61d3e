"""``slipway token``: a secret shown once, only its digest stored, roles and environments
checked, revocation and expiry honoured by the store every server shares."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from slipway.access import Identity, secret_digest
from slipway.clock import ManualClock, utc_iso
from slipway.errors import AccessDenied
from slipway.store import Store
from tests.cli.test_team_store import run
from tests.support.sample import write_sample_spec


def test_a_token_is_shown_once_and_stored_as_its_digest(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, count=1, environment="production")
    made = run(
        "token", "create", "-f", spec, "--name", "tech-lead", "--role", "approver",
        "--env", "production", "--expires", "30d", "-o", "json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert set(shown) == {"name", "role", "environments", "token", "expires_at"}
    assert (shown["name"], shown["role"], shown["environments"]) == (
        "tech-lead", "approver", ["production"],
    )  # fmt: skip
    secret = shown["token"]
    assert secret.startswith("slw_") and len(secret) > 40
    db = tmp_path / "state" / "slipway.db"
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert secret not in dump and secret_digest(secret) in dump
    listed = run("token", "list", "-f", spec, "-o", "json")
    assert secret not in listed.stdout and json.loads(listed.stdout)[0]["name"] == "tech-lead"
    store = Store.for_state_dir(tmp_path / "state")
    try:
        token = store.token_for(secret)
        assert token is not None and token.identity.may("approve", "production")
        assert run("token", "revoke", "-f", spec, "tech-lead").returncode == 0
        assert store.token_for(secret) is None
        log = [(e["action"], e["token_name"]) for e in store.access_log()]
        assert ("revoked", "tech-lead") in log and ("created", "tech-lead") in log
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "god", "--env", "production"], "no role 'god'"),
        (["--role", "viewer", "--env", "staging"], "no environment 'staging'"),
        (["--role", "viewer", "--env", "production", "--expires", "2y"], "not a duration"),
        (["--role", "viewer", "--env", "production", "--expires", "999d"], "out of range"),
    ],
)
def test_bad_requests_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    spec = write_sample_spec(tmp_path, count=1, environment="production")
    made = run("token", "create", "-f", spec, "--name", "x", *args)
    assert made.returncode == 2 and message in made.stderr, made.stderr
    assert "Traceback" not in made.stderr


def test_an_expired_token_and_its_sessions_are_refused(tmp_path: Path) -> None:
    clock = ManualClock()
    store = Store.for_state_dir(tmp_path, clock=clock)
    try:
        expires = utc_iso(clock.now() + timedelta(hours=1))
        token, secret = store.create_token(
            "ci", role="deployer", environments=("*",), expires_at=expires, created_by="t"
        )
        cookie, ends = store.open_session(token, ttl_s=86_400)
        assert ends == expires  # a session never outlives its token
        assert store.session_token(cookie) is not None
        clock.sleep(3601)
        assert store.token_for(secret) is None and store.session_token(cookie) is None
    finally:
        store.close()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", ["read"]),
        ("deployer", ["read", "deploy", "promote", "abort", "rollback"]),
        ("approver", ["read", "deploy", "promote", "abort", "rollback", "approve", "reject"]),
        ("admin", ["read", "deploy", "promote", "abort", "rollback", "approve", "reject"]),
    ],
)
def test_roles_are_a_ladder_per_environment(role: str, allowed: list[str]) -> None:
    who = Identity("x", role, ("production",))  # type: ignore[arg-type]
    assert who.allowed("production") == allowed
    assert who.allowed("staging") == []
    with pytest.raises(AccessDenied, match="does not cover environment 'staging'"):
        who.check("read", "staging")


def test_the_demo_leaves_one_viewer_token_for_its_environment(tmp_path: Path) -> None:
    from slipway.demo.story import viewer_invitation
    from slipway.spec import load_spec

    env = load_spec(write_sample_spec(tmp_path, count=1, environment="production")).environment(
        None
    )
    store = Store.for_state_dir(tmp_path / "state")
    try:
        first = viewer_invitation(store, env, listen="127.0.0.1:7400")
        second = viewer_invitation(store, env, listen="127.0.0.1:7400")
        assert second["url"] == "http://127.0.0.1:7400/"
        assert store.token_for(first["viewer_token"]) is None  # the previous demo's: revoked
        token = store.token_for(second["viewer_token"])
        assert token is not None and token.identity.allowed("production") == ["read"]
        assert token.environments == ("production",) and token.expires_at is not None
    finally:
        store.close()
