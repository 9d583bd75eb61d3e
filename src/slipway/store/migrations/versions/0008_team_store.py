"""A team's store: fenced leases (a token that only grows, the row kept when released), their
log, the queue of runners waiting, the host of a signal, and the time of a deployment's commit.

Revision ID: 0008_team_store
Revises: 0007_flags
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_team_store"
down_revision = "0007_flags"


def upgrade() -> None:
    with op.batch_alter_table("locks") as batch:
        batch.add_column(sa.Column("token", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("who", sa.String(120)))
        batch.add_column(sa.Column("os_user", sa.String(64)))
        batch.add_column(sa.Column("note", sa.Text))
        for name, type_ in (
            ("deployment_id", sa.String(40)),
            ("holder", sa.String(255)),
            ("acquired_at", sa.String(32)),
            ("expires_at", sa.String(32)),
        ):
            batch.alter_column(name, existing_type=type_, nullable=True)
    op.execute("UPDATE locks SET token = 1")  # a lock held across the upgrade keeps working
    op.create_table(
        "lock_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("token", sa.Integer, nullable=False),
        sa.Column("holder", sa.String(255)),
        sa.Column("deployment_id", sa.String(40)),
        sa.Column("who", sa.String(120)),
        sa.Column("os_user", sa.String(64)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_lock_log_env", "lock_log", ["app", "environment", "id"])
    op.create_table(
        "lock_waiters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("who", sa.String(120)),
        sa.Column("version", sa.String(64)),
        sa.Column("enqueued_at", sa.String(32), nullable=False),
        sa.Column("seen_until", sa.String(32), nullable=False),
    )
    op.create_index("ix_lock_waiters_env", "lock_waiters", ["app", "environment", "id"])
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("host", sa.String(255)))
    with op.batch_alter_table("deployment_notes") as batch:
        batch.add_column(sa.Column("commit_at", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("deployment_notes") as batch:
        batch.drop_column("commit_at")
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("host")
    op.drop_table("lock_waiters")
    op.drop_table("lock_log")
    op.execute("DELETE FROM locks WHERE holder IS NULL")
    with op.batch_alter_table("locks") as batch:
        for column in ("note", "os_user", "who", "token"):
            batch.drop_column(column)
