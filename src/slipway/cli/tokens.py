"""``slipway token create / list / revoke``: the HTTP API's credentials, kept in the store.

A token is shown once, when it is created; the store keeps only its digest. Whoever can run
these commands against the store (its file, or the team's PostgreSQL) can make tokens: the
store's own access is what guards them, as it guards the history.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from slipway.cli.base import (
    DEFAULT_FILE,
    OPTIONS,
    FileOpt,
    Output,
    OutputOpt,
    app,
    err,
    out,
    reports_errors,
)

if TYPE_CHECKING:
    from slipway.spec import Environment
    from slipway.store import Store

token_app = typer.Typer(no_args_is_help=True, help="API tokens for `slipway serve`.")
app.add_typer(token_app, name="token")

NameArg = Annotated[str, typer.Argument(help="The token's name (a person, a CI job).")]
MAX_DAYS = 366


@contextmanager
def _store(file: Path, env_name: str | None) -> Iterator[tuple[list[str], Store]]:
    """The spec's environment names and its store (one store for the whole spec)."""
    from slipway.database.store_url import open_store
    from slipway.spec import load_spec

    loaded = load_spec(file)
    names = list(loaded.spec.environments)
    env: Environment = loaded.environment(env_name if env_name in names else names[0])
    store = open_store(env, url_env=OPTIONS.store_url_env)
    try:
        yield names, store
    finally:
        store.close()


def parse_expiry(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``30m`` or ``never`` → how long the token lives (None: forever)."""
    from slipway.errors import UsageError

    value = text.strip().lower()
    if value == "never":
        return None
    match = re.fullmatch(r"([0-9]{1,4})([dhm])", value)
    if match is None:
        raise UsageError(f"--expires {text!r} is not a duration", hint="write 90d, 12h or never")
    amount, unit = int(match[1]), match[2]
    delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
        unit, timedelta(minutes=amount)
    )
    if not timedelta(minutes=1) <= delta <= timedelta(days=MAX_DAYS):
        raise UsageError(
            f"--expires {text!r} is out of range", hint=f"from 1m to {MAX_DAYS}d, or never"
        )
    return delta


@token_app.command("create")
@reports_errors
def create(
    name: Annotated[str, typer.Option("--name", help="Who it is for: recorded as who acted.")],
    role: Annotated[str, typer.Option("--role", help="viewer, deployer, approver or admin.")],
    env: Annotated[
        list[str],
        typer.Option("--env", "-e", help="An environment it covers (repeatable; '*': all)."),
    ],
    expires: Annotated[
        str, typer.Option("--expires", help="How long it lives: 90d, 12h, 30m or never.")
    ] = "90d",
    file: FileOpt = Path(DEFAULT_FILE),
    output: OutputOpt = Output.text,
) -> None:
    """Make a token; it is printed once and only its digest is stored."""
    import json

    from slipway.access import ROLES, check_environments, check_name
    from slipway.clock import SystemClock, utc_iso
    from slipway.errors import UsageError
    from slipway.redact import SECRETS
    from slipway.who import current_user

    check_name(name)
    if role not in ROLES:
        raise UsageError(f"no role {role!r}", hint=f"one of {', '.join(ROLES)}")
    lifetime = parse_expiry(expires)
    expires_at = utc_iso(SystemClock().now() + lifetime) if lifetime is not None else None
    with _store(file, env[0] if env else None) as (names, store):
        environments = check_environments(env, names)
        token, secret = store.create_token(
            name,
            role=role,  # checked against ROLES above
            environments=environments,
            expires_at=expires_at,
            created_by=current_user(),
        )
    shown = {
        "name": token.name,
        "role": token.role,
        "environments": list(token.environments),
        "token": secret,
        "expires_at": token.expires_at,
    }
    if output is Output.json:
        # the one place a secret is printed on purpose: not through print_json's masking
        typer.echo(json.dumps(shown, indent=2))
    else:
        err().print(
            f"token {token.name} ({token.role} for {', '.join(token.environments)}, "
            f"expires {token.expires_at or 'never'}) — shown once, keep it now:",
            markup=False,
            highlight=False,
        )
        typer.echo(secret)
    SECRETS.add(secret)  # from here on, masked in whatever this process prints


@token_app.command("list")
@reports_errors
def list_tokens(
    file: FileOpt = Path(DEFAULT_FILE),
    output: OutputOpt = Output.text,
    all_: Annotated[bool, typer.Option("--all", help="Revoked ones too.")] = False,
) -> None:
    """The tokens (never their secrets): role, environments, expiry, last use."""
    from slipway.view import print_json, table

    with _store(file, None) as (_, store):
        tokens = [t for t in store.tokens() if all_ or t.revoked_at is None]
    if output is Output.json:
        print_json([t.as_dict() for t in tokens])
        return
    rows = [
        (
            t.name,
            t.role,
            ", ".join(t.environments),
            t.expires_at or "never",
            t.last_used_at or "—",
            t.revoked_at or "",
        )
        for t in tokens
    ]
    headers = ["name", "role", "environments", "expires", "last used", "revoked"]
    out().print(table("API tokens", headers, rows))


@token_app.command("revoke")
@reports_errors
def revoke(name: NameArg, file: FileOpt = Path(DEFAULT_FILE)) -> None:
    """Revoke a token now: every server sharing the store refuses it, and its browser
    sessions end."""
    from slipway.who import current_user

    with _store(file, None) as (_, store):
        token = store.revoke_token(name, by=current_user())
    out().print(f"revoked {token.name} ({token.role})", markup=False, highlight=False)
