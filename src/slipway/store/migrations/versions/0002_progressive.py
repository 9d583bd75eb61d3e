"""Step results, signals to a running deployment, analysis runs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.add_column(sa.Column("result", sa.Text))
    op.create_table(
        "signals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.String(40), sa.ForeignKey("deployments.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("handled_at", sa.String(32)),
        sa.Column("outcome", sa.Text),
    )
    op.create_index("ix_signals_deployment", "signals", ["deployment_id", "id"])
    op.create_table(
        "analysis_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.String(40), sa.ForeignKey("deployments.id"), nullable=False),
        sa.Column("analysis", sa.String(64), nullable=False),
        sa.Column("run_no", sa.Integer, nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("canary_version", sa.String(64), nullable=False),
        sa.Column("baseline_version", sa.String(64)),
        sa.Column("weight", sa.Integer),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("measurements", sa.Text, nullable=False),
    )
    op.create_index("ix_analysis_runs_deployment", "analysis_runs", ["deployment_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_analysis_runs_deployment", "analysis_runs")
    op.drop_table("analysis_runs")
    op.drop_index("ix_signals_deployment", "signals")
    op.drop_table("signals")
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("result")
