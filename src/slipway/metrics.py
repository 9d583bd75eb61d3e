"""DORA's four keys, from Slipway's own records: what the history says about the team.

``dora(store, app, …)`` is what ``slipway metrics`` prints and what the dashboard will show.
Every figure comes from the store — deployments, their steps, their notes — never from a
guess, and ``DEFINITIONS`` says exactly how each is counted:

- **deployment frequency**: deployments that succeeded, per day of the window;
- **lead time for changes**: from the commit's time (``--commit``, looked up in git) to the
  deployment that put it live, median and 90th percentile, over deployments whose commit time
  is known;
- **change failure rate**: deployments that failed or were rolled back, over all that started
  (No-Go's started nothing and do not count). Failures are split: *caught* before the release
  had all the traffic (a health check, a canary's analysis, a gate — users saw little or
  nothing), and *escaped*: rolled back after it had all of it, or succeeded and were undone by
  a later `slipway rollback`;
- **time to restore**: from the failure's detection (the rollback's start) to the previous
  release serving again (the rollback's end), median and worst.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from slipway.clock import Clock, SystemClock, utc_iso
from slipway.store import Deployment, Status, StepRecord, Store
from slipway.store.records import Records

FAILED = (Status.ROLLED_BACK, Status.FAILED)
STARTED = (Status.SUCCEEDED, Status.ROLLED_BACK, Status.FAILED, Status.ABORTED)
TRAFFIC_STEPS = ("enable_instance", "switch_traffic")  # the steps that give users the release
DEFINITIONS = {
    "deployment frequency": "deployments that succeeded, per day of the window",
    "lead time for changes": "commit time (--commit, from git) → the deployment that put it "
    "live succeeded; median and p90 of those with a known commit time",
    "change failure rate": "deployments failed or rolled back ÷ deployments started (No-Go "
    "excluded); caught: before the release had all the traffic (health check, canary, gate); "
    "escaped: after it, or undone later by `slipway rollback`",
    "time to restore": "rollback started (the failure detected) → previous release serving; "
    "median and worst",
}


@dataclass(frozen=True)
class Dora:
    app: str
    environment: str | None
    since: str
    until: str
    days: float
    deployments: int  # started (No-Go excluded)
    succeeded: int
    per_day: float
    lead_time_s: dict[str, float | None]  # median, p90, known (how many had a commit time)
    failures: int
    caught: int
    escaped: int
    change_failure_rate: float | None
    restore_s: dict[str, float | None]  # median, max, count
    definitions: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dora(
    store: Store,
    app: str,
    *,
    environment: str | None = None,
    since_days: float = 30.0,
    clock: Clock | None = None,
) -> Dora:
    """The four keys for ``app`` (one environment, or all) over the last ``since_days``."""
    now = (clock or SystemClock()).now()
    start = utc_iso(now - timedelta(days=since_days))
    history = store.deployments_since(app, environment, since=start)
    deploys = [d for d in history if d.kind == "deploy" and d.status in STARTED]
    succeeded = [d for d in deploys if d.status is Status.SUCCEEDED]
    undone = _undone_later(history)
    caught, escaped, restores = 0, 0, []
    failed = [d.id for d in deploys if d.status in FAILED]
    traffic = store.steps_of(failed, kinds=TRAFFIC_STEPS)  # one query, not one per failure
    for dep in deploys:
        if dep.status in FAILED:
            if _had_all_traffic(traffic[dep.id]):
                escaped += 1
            else:
                caught += 1
            if dep.rollback_s is not None:
                restores.append(dep.rollback_s)
        elif dep.id in undone:
            escaped += 1
            restores.append(undone[dep.id])
    failures = caught + escaped
    return Dora(
        app=app,
        environment=environment,
        since=start,
        until=utc_iso(now),
        days=since_days,
        deployments=len(deploys),
        succeeded=len(succeeded),
        per_day=round(len(succeeded) / since_days, 3),
        lead_time_s=_lead_times(store, succeeded),
        failures=failures,
        caught=caught,
        escaped=escaped,
        change_failure_rate=round(failures / len(deploys), 4) if deploys else None,
        restore_s={
            "median": round(statistics.median(restores), 3) if restores else None,
            "max": round(max(restores), 3) if restores else None,
            "count": len(restores),
        },
        definitions=DEFINITIONS,
    )


def _had_all_traffic(steps: Sequence[StepRecord]) -> bool:
    """Whether every traffic step of its deploy phase had run when it failed (so users had
    the release in full): compensated steps had succeeded before the rollback undid them."""
    traffic = [s for s in steps if s.phase == "deploy"]
    return bool(traffic) and all(s.state in ("succeeded", "compensated") for s in traffic)


def _undone_later(history: Sequence[Deployment]) -> dict[str, float]:
    """Succeeded deployments a later `slipway rollback` undid → that rollback's duration."""
    found: dict[str, float] = {}
    ordered = sorted(history, key=lambda d: d.started_at)
    for i, dep in enumerate(ordered):
        if dep.kind != "deploy" or dep.status is not Status.SUCCEEDED:
            continue
        for later in ordered[i + 1 :]:
            if later.environment != dep.environment:
                continue
            if later.kind == "deploy" and later.status is Status.SUCCEEDED:
                break  # a newer release went live first: it was not this one that was undone
            if later.kind == "rollback" and later.previous_version == dep.version:
                if later.status is Status.SUCCEEDED and later.ended_at:
                    found[dep.id] = _seconds(later.started_at, later.ended_at)
                break
    return found


def _lead_times(store: Store, succeeded: Sequence[Deployment]) -> dict[str, float | None]:
    notes = Records(store).deployment_notes([d.id for d in succeeded])
    leads = []
    for dep in succeeded:
        note = notes.get(dep.id)
        if note is not None and note.commit_at and dep.ended_at:
            leads.append(_seconds(note.commit_at, dep.ended_at))
    if not leads:
        return {"median": None, "p90": None, "known": 0}
    ordered = sorted(leads)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(leads), 1), "p90": round(p90, 1), "known": len(leads)}


def _seconds(start: str, end: str) -> float:
    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return max(0.0, (parse(end) - parse(start)).total_seconds())


class DoraCache:
    """``dora`` for pages asked often (the dashboard's history): a figure is recomputed when
    the environment's newest deployment changes — one started, or it ended — or after
    ``ttl_s``, as the 30-day window slides. Over ten thousand deployments ``dora`` reads them
    all; this reads one row per request instead."""

    def __init__(self, store: Store, app: str, *, ttl_s: float = 60.0, clock: Clock) -> None:
        self._store, self._app, self._ttl_s, self._clock = store, app, ttl_s, clock
        self._known: dict[str, tuple[tuple[Any, ...], float, Dora]] = {}

    def get(self, environment: str) -> Dora:
        newest = self._store.deployments(self._app, environment, limit=1)
        mark = tuple((d.id, d.status, d.ended_at) for d in newest)
        now = self._clock.monotonic()
        known = self._known.get(environment)
        if known is not None and known[0] == mark and now - known[1] < self._ttl_s:
            return known[2]
        figures = dora(self._store, self._app, environment=environment, clock=self._clock)
        self._known[environment] = (mark, now, figures)
        return figures
