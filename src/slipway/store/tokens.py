"""API tokens, browser sessions, the sign-in log and idempotency keys, in the store.

The store never holds a secret in clear: a token's secret and a session's cookie are kept as
their SHA-256 (``slipway.access.secret_digest``), looked up by it, and shown once — by
``slipway token create`` for a token, in a ``Set-Cookie`` for a session. Sharing the store is
what lets several ``slipway serve`` processes (and the CLI) agree on who is who: a token
revoked on one machine is refused by every server at its next request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from slipway.access import Identity, Role, new_secret, secret_digest
from slipway.clock import utc_iso
from slipway.errors import StoreError, UsageError
from slipway.store.access_tables import api_sessions, api_tokens, auth_log, idempotency_keys
from slipway.store.base import StoreBase


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    role: Role
    environments: tuple[str, ...]
    created_at: str
    created_by: str | None
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    @property
    def identity(self) -> Identity:
        return Identity(self.name, self.role, self.environments, self.expires_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "environments": list(self.environments),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        }


@dataclass(frozen=True)
class Remembered:
    """What an ``Idempotency-Key`` already answered (``status`` None: still being answered)."""

    request: str
    status: int | None
    response: dict[str, Any] | None


def _token(row: Any) -> Token:
    values = row._asdict()
    values.pop("digest", None)
    return Token(**{**values, "environments": tuple(json.loads(values["environments"]))})


class TokensMixin(StoreBase):
    # tokens

    def create_token(
        self,
        name: str,
        *,
        role: Role,
        environments: tuple[str, ...],
        expires_at: str | None,
        created_by: str | None,
    ) -> tuple[Token, str]:
        """A new token and its secret (the only time the secret exists outside its holder)."""
        secret = new_secret()
        with self._write(fenced=False) as conn:
            if conn.execute(self._active_named(name)).first() is not None:
                raise UsageError(
                    f"a token named {name!r} already exists",
                    hint=f"`slipway token revoke {name}` first, or choose another name",
                )
            conn.execute(
                insert(api_tokens).values(
                    name=name,
                    role=role,
                    environments=json.dumps(list(environments)),
                    digest=secret_digest(secret),
                    created_at=self.now(),
                    created_by=created_by,
                    expires_at=expires_at,
                )
            )
            self._log(conn, "created", name, None, f"{role} for {', '.join(environments)}")
        found = self.token_named(name)
        assert found is not None
        return found, secret

    def _active_named(self, name: str) -> Any:
        return select(api_tokens).where(
            (api_tokens.c.name == name) & api_tokens.c.revoked_at.is_(None)
        )

    def token_named(self, name: str) -> Token | None:
        with self._read() as conn:
            row = conn.execute(self._active_named(name)).first()
        return _token(row) if row is not None else None

    def tokens(self) -> list[Token]:
        with self._read() as conn:
            return [_token(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id))]

    def revoke_token(self, name: str, *, by: str | None) -> Token:
        with self._write(fenced=False) as conn:
            done = conn.execute(
                update(api_tokens)
                .where((api_tokens.c.name == name) & api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self.now())
            ).rowcount
            if not done:
                raise UsageError(f"no token named {name!r}", hint="`slipway token list`")
            self._log(conn, "revoked", name, None, f"by {by}" if by else None)
        row = next(t for t in reversed(self.tokens()) if t.name == name)
        return row

    def token_for(self, secret: str) -> Token | None:
        """The live token whose secret this is (None: unknown, revoked or expired)."""
        now = self.now()
        query = select(api_tokens).where(api_tokens.c.digest == secret_digest(secret))
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        return _token(row)

    def touch_token(self, token: Token) -> None:
        """Note when a token was last used — at most once a minute, not on every request."""
        if token.last_used_at and token.last_used_at > utc_iso(
            self._clock.now() - timedelta(minutes=1)
        ):
            return
        with self._write(fenced=False) as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token.id)
                .values(last_used_at=self.now())
            )

    # browser sessions

    def open_session(self, token: Token, *, ttl_s: float) -> tuple[str, str]:
        """A session for ``token``: its cookie's secret and when it ends (never after the
        token does)."""
        secret = new_secret()
        ends = utc_iso(self._clock.now() + timedelta(seconds=ttl_s))
        if token.expires_at is not None:
            ends = min(ends, token.expires_at)
        with self._write(fenced=False) as conn:
            conn.execute(
                insert(api_sessions).values(
                    digest=secret_digest(secret),
                    token_id=token.id,
                    created_at=self.now(),
                    expires_at=ends,
                )
            )
        return secret, ends

    def session_token(self, secret: str) -> Token | None:
        """The live token behind a session cookie (None: unknown, ended, or its token gone)."""
        now = self.now()
        query = (
            select(api_tokens)
            .join(api_sessions, api_sessions.c.token_id == api_tokens.c.id)
            .where(
                (api_sessions.c.digest == secret_digest(secret))
                & api_sessions.c.ended_at.is_(None)
                & (api_sessions.c.expires_at > now)
                & api_tokens.c.revoked_at.is_(None)
            )
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None or (row.expires_at is not None and row.expires_at <= now):
            return None
        return _token(row)

    def end_session(self, secret: str) -> None:
        with self._write(fenced=False) as conn:
            conn.execute(
                update(api_sessions)
                .where(api_sessions.c.digest == secret_digest(secret))
                .values(ended_at=self.now())
            )

    # the sign-in log

    def log_access(
        self, action: str, *, token_name: str | None, address: str | None, detail: str | None
    ) -> None:
        with self._write(fenced=False) as conn:
            self._log(conn, action, token_name, address, detail)

    def _log(
        self, conn: Any, action: str, name: str | None, address: str | None, detail: str | None
    ) -> None:
        conn.execute(
            insert(auth_log).values(
                at=self.now(), action=action, token_name=name, address=address, detail=detail
            )
        )

    def refusals_since(self, address: str, since: datetime) -> int:
        """How many sign-ins or tokens from ``address`` were refused since ``since``."""
        query = select(func.count()).where(
            (auth_log.c.address == address)
            & (auth_log.c.action == "refused")
            & (auth_log.c.at >= utc_iso(since))
        )
        with self._read() as conn:
            return int(conn.execute(query).scalar() or 0)

    def access_log(self, *, limit: int = 50) -> list[dict[str, Any]]:
        query = select(auth_log).order_by(auth_log.c.id.desc()).limit(limit)
        with self._read() as conn:
            return [r._asdict() for r in conn.execute(query)]

    # idempotency keys

    def remember_request(self, token_name: str, key: str, request: str) -> Remembered | None:
        """Claim ``key`` for this request; or what it already holds (then do nothing)."""
        try:
            with self._write(fenced=False) as conn:
                conn.execute(
                    insert(idempotency_keys).values(
                        token_name=token_name, key=key, request=request, created_at=self.now()
                    )
                )
            return None
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        where = (idempotency_keys.c.token_name == token_name) & (idempotency_keys.c.key == key)
        with self._read() as conn:
            row = conn.execute(select(idempotency_keys).where(where)).one()
        response = json.loads(row.response) if row.response else None
        return Remembered(request=row.request, status=row.status, response=response)

    def answer_request(
        self, token_name: str, key: str, *, status: int, response: dict[str, Any]
    ) -> None:
        where = (idempotency_keys.c.token_name == token_name) & (idempotency_keys.c.key == key)
        with self._write(fenced=False) as conn:
            conn.execute(
                update(idempotency_keys)
                .where(where)
                .values(status=status, response=json.dumps(response, default=str))
            )

    def forget_request(self, token_name: str, key: str) -> None:
        """Free a key whose request failed before it acted, so a retry may act."""
        where = (idempotency_keys.c.token_name == token_name) & (idempotency_keys.c.key == key)
        with self._write(fenced=False) as conn:
            conn.execute(delete(idempotency_keys).where(where))
