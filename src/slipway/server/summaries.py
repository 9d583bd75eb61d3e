"""What the dashboard and the HTTP API show of an environment and of one deployment, from the
store alone: many environments are listed on one page, so nothing here probes a live target
(``slipway.reports.status`` does that for one)."""

from __future__ import annotations

from typing import Any

from slipway.reports import current_dict, deployment_dict, logs, step_dict
from slipway.spec.environment import Environment
from slipway.store import Store
from slipway.store.records import Records


def summary(env: Environment, *, store: Store) -> dict[str, Any]:
    """One environment as the store knows it (no live probe: a page lists many): the current
    release, since when and by whom, the last deployment, the lock, a running one's progress."""
    current = store.current(env.app, env.name)
    recent = store.deployments(env.app, env.name, limit=1)
    last = recent[0] if recent else None
    note = Records(store).deployment_note(current.deployment_id) if current else None
    lock = store.lock(env.app, env.name)
    progress = None
    if last is not None and last.active:
        steps = store.steps(last.id)
        done = sum(s.state in ("succeeded", "skipped") for s in steps)
        running = next((s.description for s in steps if s.state == "running"), None)
        progress = {"done": done, "total": len(steps), "running": running}
    return {
        "app": env.app,
        "environment": env.name,
        "current": {**current_dict(env, current), "by": note.who if note else None}
        if current
        else None,
        "last_deployment": deployment_dict(last) if last else None,
        "lock": {"deployment": lock.deployment_id, "holder": lock.holder, "since": lock.acquired_at}
        if lock
        else None,
        "progress": progress,
    }


def record(env: Environment, *, store: Store, deployment: str) -> dict[str, Any]:
    """``logs`` and the runbook's records around it: the pre-flight runs with each check's
    evidence, the gates (who decided, when, with which comment), backups, rehearsals and the
    notifications sent — what a deployment's page shows."""
    found = logs(env, store=store, deployment=deployment)
    dep_id = found["deployment"]["id"]
    records = Records(store)
    found["checks"] = [
        {"purpose": c.purpose, "at": c.at, "verdict": c.verdict, "results": c.results}
        for c in records.check_runs(env.app, env.name, limit=50)
        if c.deployment_id == dep_id
    ]
    found["gates"] = [
        {**step_dict(s), "params": s.params} for s in store.steps(dep_id) if s.kind == "gate"
    ]
    found["backups"] = [
        {k: v for k, v in b.__dict__.items() if k not in ("app", "environment")}
        for b in records.backups(env.app, env.name, limit=50)
        if b.deployment_id == dep_id
    ]
    found["rehearsals"] = [
        {"at": r.at, "backup": r.backup_id, "outcome": r.outcome, "duration_s": r.duration_s}
        for r in records.rehearsals(env.app, env.name, limit=50)
        if r.deployment_id == dep_id
    ]
    found["notifications"] = [
        {"channel": n.channel, "event": n.event, "at": n.at, "status": n.status}
        for n in records.notifications(dep_id)
    ]
    return found
