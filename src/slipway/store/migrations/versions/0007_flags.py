"""Feature flags: each environment's flags, their share of users and their revision.

Revision ID: 0007_flags
Revises: 0006_signal_os_user
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_flags"
down_revision = "0006_signal_os_user"


def upgrade() -> None:
    op.create_table(
        "flags",
        sa.Column("app", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("weight", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Integer, nullable=False),
        sa.Column("on_for", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("deployment_id", sa.String(40)),
    )


def downgrade() -> None:
    op.drop_table("flags")
