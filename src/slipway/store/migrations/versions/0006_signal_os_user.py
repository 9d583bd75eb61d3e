"""Signals record the OS user beside a name claimed through $SLIPWAY_USER.

Revision ID: 0006_signal_os_user
Revises: 0005_runbook
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_signal_os_user"
down_revision = "0005_runbook"


def upgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("os_user", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("os_user")
