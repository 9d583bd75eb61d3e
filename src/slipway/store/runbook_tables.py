"""The runbook's tables: what pre-flight checks, backups, rehearsals, notifications and drills
found, and the spec digest and author of each deployment (migration ``0005_runbook``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text

from slipway.store.columns import Scrubbed, ScrubbedJson
from slipway.store.tables import metadata

deployment_notes = Table(
    "deployment_notes",
    metadata,
    Column("deployment_id", String(40), primary_key=True),
    Column("spec_digest", String(80), nullable=False),
    Column("who", String(120)),
    Column("commit_id", String(64)),
    Column("commit_at", String(32)),  # the commit's time, when known: DORA's lead time
    Column("changes", ScrubbedJson),  # JSON list of lines
)

check_runs = Table(
    "check_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("deployment_id", String(40)),
    Column("purpose", String(16), nullable=False),  # check | deploy | drill
    Column("version", String(64)),
    Column("at", String(32), nullable=False),
    Column("verdict", String(8), nullable=False),  # go | no_go
    Column("who", String(120)),
    Column("override", Scrubbed),  # the reason given to open a closed window
    Column("results", ScrubbedJson, nullable=False),  # JSON list of rows
    Index("ix_check_runs_env", "app", "environment", "at"),
)

backups = Table(
    "backups",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("deployment_id", String(40)),
    Column("database", String(255), nullable=False),  # the URL without its password
    Column("location", Text, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("verify_evidence", Scrubbed),
    Index("ix_backups_env", "app", "environment", "created_at"),
)

rehearsals = Table(
    "rehearsals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("deployment_id", String(40)),
    Column("backup_id", String(40), nullable=False),
    Column("version", String(64)),
    Column("at", String(32), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("outcome", String(16), nullable=False),  # passed | failed
    Column("output", Scrubbed),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deployment_id", String(40)),
    Column("channel", String(80), nullable=False),
    Column("event", String(32), nullable=False),
    Column("at", String(32), nullable=False),
    Column("status", String(8), nullable=False),  # sent | failed
    Column("attempts", Integer, nullable=False),
    Column("error", Scrubbed),
    Index("ix_notifications_deployment", "deployment_id"),
)

drills = Table(
    "drills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("version", String(64), nullable=False),
    Column("back_to", String(64), nullable=False),
    Column("deploy_id", String(40), nullable=False),
    Column("rollback_id", String(40)),
    Column("rollback_s", Float),
    Column("outcome", String(16), nullable=False),  # passed | failed
    Column("spec_digest", String(80)),
)
