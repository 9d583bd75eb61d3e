"""The HTTP API: tokens (digests only), browser sessions, the sign-in log, idempotency keys;
signals record the token that sent them.

Revision ID: 0009_api_tokens
Revises: 0008_team_store
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_api_tokens"
down_revision = "0008_team_store"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("environments", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(120)),
        sa.Column("expires_at", sa.String(32)),
        sa.Column("revoked_at", sa.String(32)),
        sa.Column("last_used_at", sa.String(32)),
    )
    op.create_index("ix_api_tokens_name", "api_tokens", ["name"])
    op.create_table(
        "api_sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("ended_at", sa.String(32)),
    )
    op.create_table(
        "auth_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("token_name", sa.String(64)),
        sa.Column("address", sa.String(64)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_auth_log_address", "auth_log", ["address", "at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("token_name", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("response", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("token", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("token")
    for table in ("idempotency_keys", "auth_log", "api_sessions", "api_tokens"):
        op.drop_table(table)
