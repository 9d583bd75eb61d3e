"""The store's tables, as SQLAlchemy Core metadata (the one schema Alembic migrates).

Timestamps are ISO-8601 UTC strings (``clock.utc_iso``): the same text in
SQLite and PostgreSQL, sortable, and readable in a plain ``sqlite3`` shell.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

from slipway.store.columns import Scrubbed, ScrubbedJson

metadata = MetaData()

deployments = Table(
    "deployments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # deploy | rollback
    Column("version", String(64), nullable=False),
    Column("previous_version", String(64)),
    Column("release_digest", String(80)),
    Column("strategy", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Scrubbed),
    Column("runner", String(255)),  # host:pid of the process running it
    Column("started_at", String(32), nullable=False),
    Column("ended_at", String(32)),
    Column("rollback_started_at", String(32)),
    Column("rollback_s", Float),
    Index("ix_deployments_env", "app", "environment", "started_at"),
)

steps = Table(
    "steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deployment_id", String(40), ForeignKey("deployments.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("phase", String(16), nullable=False),  # deploy | rollback
    Column("group_no", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("params", Text, nullable=False),  # JSON
    Column("description", Scrubbed, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Scrubbed),
    Column("result", ScrubbedJson),  # JSON: what the step found (evidence, a gate's decision …)
    Column("started_at", String(32)),
    Column("ended_at", String(32)),
    Index("ix_steps_deployment", "deployment_id", "seq"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deployment_id", String(40), ForeignKey("deployments.id"), nullable=False),
    Column("at", String(32), nullable=False),
    Column("level", String(8), nullable=False),
    Column("message", Scrubbed, nullable=False),
    Column("data", ScrubbedJson),  # JSON
    Index("ix_events_deployment", "deployment_id", "id"),
)

# The environment's lease (store/leases.py). The row stays when the lock is released (holder
# NULL): its token only ever grows, so a token is never handed out twice.
locks = Table(
    "locks",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("environment", String(64), primary_key=True),
    Column("token", Integer, nullable=False, server_default="0"),  # the fencing token
    Column("deployment_id", String(40)),
    Column("holder", String(255)),  # host:pid of the runner, or host:manual
    Column("who", String(120)),  # the person (or CI job) it runs for
    Column("os_user", String(64)),
    Column("note", Scrubbed),  # `slipway lock acquire --note`
    Column("acquired_at", String(32)),
    Column("expires_at", String(32)),
)

# What happened to each lease: taken, taken over, released, released by force (who and why).
lock_log = Table(
    "lock_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("action", String(16), nullable=False),  # acquired | taken_over | released | forced
    Column("token", Integer, nullable=False),
    Column("holder", String(255)),
    Column("deployment_id", String(40)),
    Column("who", String(120)),
    Column("os_user", String(64)),
    Column("note", Scrubbed),  # a forced release's reason, a manual lock's note
    Index("ix_lock_log_env", "app", "environment", "id"),
)

# Runners waiting for an environment (`--lock-wait`), served first come, first served.
lock_waiters = Table(
    "lock_waiters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("holder", String(255), nullable=False),
    Column("who", String(120)),
    Column("version", String(64)),
    Column("enqueued_at", String(32), nullable=False),
    Column("seen_until", String(32), nullable=False),  # renewed while it waits
    Index("ix_lock_waiters_env", "app", "environment", "id"),
)

current_releases = Table(
    "current_releases",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("environment", String(64), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("release_digest", String(80)),
    Column("deployment_id", String(40), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# The release current on each host of a fleet: a row each time a deployment switched a host's
# `current` (a --limit deployment switches some hosts only); a host's newest row is its current.
# Host "*" is what a store recorded before per-host records: every host of the environment.
host_releases = Table(
    "host_releases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("host", String(255), nullable=False),
    Column("version", String(64), nullable=False),
    Column("release_digest", String(80)),
    Column("deployment_id", String(40), ForeignKey("deployments.id"), nullable=False),
    Column("at", String(32), nullable=False),
    Index("ix_host_releases_host", "app", "environment", "host", "id"),
)

signals = Table(
    "signals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deployment_id", String(40), ForeignKey("deployments.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # promote | approve | reject | abort | rollback
    Column("actor", String(128), nullable=False),
    Column("os_user", String(64)),  # beside a name claimed through $SLIPWAY_USER
    Column("host", String(255)),  # the machine it was sent from (the API: the client's address)
    Column("token", String(64)),  # the API token it came with: the actor is authenticated
    Column("comment", Scrubbed),
    Column("created_at", String(32), nullable=False),
    Column("handled_at", String(32)),
    Column("outcome", Scrubbed),  # what the runner did with it
    Index("ix_signals_deployment", "deployment_id", "id"),
)

analysis_runs = Table(
    "analysis_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deployment_id", String(40), ForeignKey("deployments.id"), nullable=False),
    Column("analysis", String(64), nullable=False),  # which analysis (background, step n)
    Column("run_no", Integer, nullable=False),
    Column("at", String(32), nullable=False),
    Column("canary_version", String(64), nullable=False),
    Column("baseline_version", String(64)),
    Column("weight", Integer),  # canary traffic share in percent when measured
    Column("verdict", String(16), nullable=False),  # continue | abort | inconclusive
    Column("summary", Scrubbed, nullable=False),
    Column("measurements", ScrubbedJson, nullable=False),  # JSON list, one entry per metric
    Index("ix_analysis_runs_deployment", "deployment_id", "id"),
)

flags = Table(
    "flags",
    metadata,
    Column("app", String(64), primary_key=True),
    Column("environment", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("weight", Integer, nullable=False),  # percent of targeting keys with the flag on
    Column("enabled", Integer, nullable=False),  # 0: killed (served DISABLED, variant off)
    Column("on_for", Text, nullable=False),  # JSON list of targeting keys always on
    Column("revision", Integer, nullable=False),  # the environment's flag revision at this write
    Column("updated_at", String(32), nullable=False),
    Column("updated_by", String(128), nullable=False),
    Column("deployment_id", String(40)),  # the deployment that set it, if one did
)
