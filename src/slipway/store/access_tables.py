"""The HTTP API's tables: tokens (their secrets' digests only), browser sessions, the log of
sign-ins and refusals, and the answers of actions sent with an ``Idempotency-Key``
(migration ``0009_api_tokens``)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from slipway.store.columns import Scrubbed
from slipway.store.tables import metadata

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # viewer | deployer | approver | admin
    Column("environments", Text, nullable=False),  # JSON list; "*": every environment
    Column("digest", String(64), nullable=False, unique=True),  # SHA-256 of the secret
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(120)),
    Column("expires_at", String(32)),
    Column("revoked_at", String(32)),
    Column("last_used_at", String(32)),
    Index("ix_api_tokens_name", "name"),
)

# A browser signed in with a token: the cookie is a secret of its own (its digest here), so the
# token never sits in a browser; revoking the token ends its sessions.
api_sessions = Table(
    "api_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("token_id", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("ended_at", String(32)),
)

# Sign-ins, refusals (the rate limit counts these) and token changes, with where they came from.
auth_log = Table(
    "auth_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("action", String(24), nullable=False),  # signed_in | refused | created | revoked …
    Column("token_name", String(64)),
    Column("address", String(64)),
    Column("detail", Scrubbed),
    Index("ix_auth_log_address", "address", "at"),
)

# An action's answer, kept under the key its caller sent, so a retried request is answered the
# same instead of acting twice.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("token_name", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request", String(64), nullable=False),  # digest of method, path and body
    Column("status", Integer),  # None while the first request is still being answered
    Column("response", Text),  # JSON
    Column("created_at", String(32), nullable=False),
)
