"""The runbook's records: deployment notes, check runs, backups, rehearsals, notifications, drills.

Revision ID: 0005_runbook
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_runbook"
down_revision = "0002"


def upgrade() -> None:
    _deployment_notes()
    _check_runs()
    _backups()
    _rehearsals()
    _notifications()
    _drills()


def _deployment_notes() -> None:
    op.create_table(
        "deployment_notes",
        sa.Column("deployment_id", sa.String(40), primary_key=True),
        sa.Column("spec_digest", sa.String(80), nullable=False),
        sa.Column("who", sa.String(120)),
        sa.Column("commit_id", sa.String(64)),
        sa.Column("changes", sa.Text),
    )


def _check_runs() -> None:
    op.create_table(
        "check_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("deployment_id", sa.String(40)),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64)),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("who", sa.String(120)),
        sa.Column("override", sa.Text),
        sa.Column("results", sa.Text, nullable=False),
    )
    op.create_index("ix_check_runs_env", "check_runs", ["app", "environment", "at"])


def _backups() -> None:
    op.create_table(
        "backups",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("deployment_id", sa.String(40)),
        sa.Column("database", sa.String(255), nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("verify_evidence", sa.Text),
    )
    op.create_index("ix_backups_env", "backups", ["app", "environment", "created_at"])


def _rehearsals() -> None:
    op.create_table(
        "rehearsals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("deployment_id", sa.String(40)),
        sa.Column("backup_id", sa.String(40), nullable=False),
        sa.Column("version", sa.String(64)),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("output", sa.Text),
    )


def _notifications() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("deployment_id", sa.String(40)),
        sa.Column("channel", sa.String(80), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_notifications_deployment", "notifications", ["deployment_id"])


def _drills() -> None:
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("back_to", sa.String(64), nullable=False),
        sa.Column("deploy_id", sa.String(40), nullable=False),
        sa.Column("rollback_id", sa.String(40)),
        sa.Column("rollback_s", sa.Float),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("spec_digest", sa.String(80)),
    )


def downgrade() -> None:
    for table in (
        "drills",
        "notifications",
        "rehearsals",
        "backups",
        "check_runs",
        "deployment_notes",
    ):
        op.drop_table(table)
