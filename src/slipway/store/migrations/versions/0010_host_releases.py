"""The release current on each host of a fleet: a ``--limit`` deployment switches some hosts
only, so one current release per environment was not the truth.

What the older schema knew is kept as a row for host ``*`` (every host of the environment, as
recorded before per-host records): a host that no later deployment switched runs that.

Revision ID: 0010_host_releases
Revises: 0009_api_tokens
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_host_releases"
down_revision = "0009_api_tokens"


def upgrade() -> None:
    op.create_table(
        "host_releases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("release_digest", sa.String(80)),
        sa.Column("deployment_id", sa.String(40), sa.ForeignKey("deployments.id"), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
    )
    op.create_index("ix_host_releases_host", "host_releases", ["app", "environment", "host", "id"])
    op.execute(
        "INSERT INTO host_releases (app, environment, host, version, release_digest,"
        " deployment_id, at) SELECT app, environment, '*', version, release_digest,"
        " deployment_id, updated_at FROM current_releases"
        " WHERE deployment_id IN (SELECT id FROM deployments)"
    )


def downgrade() -> None:
    op.drop_index("ix_host_releases_host", table_name="host_releases")
    op.drop_table("host_releases")
