"""What ``status``, ``history`` and ``logs`` report, as plain data (the CLI only prints it).

``status`` joins three sources and says where they disagree: the store (what
Slipway last decided), the target (which process runs which version) and the
router (which slot takes traffic). A deployment whose runner died is reported
as interrupted, with the command that finishes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slipway.backends import Backends
from slipway.errors import SlipwayError, UsageError
from slipway.router.base import HeaderRouter
from slipway.spec.environment import Environment
from slipway.store import AnalysisRun, CurrentRelease, Deployment, StepRecord, Store, runner_alive
from slipway.targets.base import FleetTarget


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(delta.total_seconds(), 3)


def deployment_dict(dep: Deployment) -> dict[str, Any]:
    return {
        "id": dep.id,
        "kind": dep.kind,
        "version": dep.version,
        "previous_version": dep.previous_version,
        "release_digest": dep.release_digest,
        "strategy": dep.strategy,
        "status": dep.status,
        "reason": dep.reason,
        "runner": dep.runner,
        "started_at": dep.started_at,
        "ended_at": dep.ended_at,
        "duration_s": seconds_between(dep.started_at, dep.ended_at),
        "rollback_s": dep.rollback_s,
    }


def status(env: Environment, *, store: Store, backends: Backends) -> dict[str, Any]:
    """The store's view (current release, last deployment, lock), the live one (what each
    slot runs, what the router does with it), and every place where they disagree."""
    current = store.current(env.app, env.name)
    recent = store.deployments(env.app, env.name, limit=1)
    last = recent[0] if recent else None
    report: dict[str, Any] = {
        "app": env.app,
        "environment": env.name,
        "current": current_dict(env, current) if current else None,
        "last_deployment": deployment_dict(last) if last else None,
        "interrupted": None,
        "watch": _watch(store, last) if last and last.active else None,
        "lock": None,
        "router": f"{env.router.type} on {env.router.listen.host}:{env.router.listen.port}",
        "instances": [],
        "processes": [],  # of the roles without traffic (workers, beat)
        "header_routes": [],  # requests with a header (or cookie) sent to chosen slots
        "problems": [],
    }
    if last and last.active and runner_alive(last.runner) is False:
        report["interrupted"] = {
            "deployment": last.id,
            "status": last.status,
            "runner": last.runner,
            "hint": f"its runner died: run `slipway resume` ({env.on_interrupt} per the spec)",
        }
    lock = store.lock(env.app, env.name)
    if lock:
        report["lock"] = {
            "deployment": lock.deployment_id,
            "holder": lock.holder,
            "since": lock.acquired_at,
            "expires_at": lock.expires_at,
        }
    try:
        serving = _live(env, backends, report)
    except SlipwayError as exc:
        report["problems"].append(f"cannot read live state: {exc}")
        return report
    report["problems"] += _disagreements(
        env, current, serving, interrupted=bool(report["interrupted"])
    )
    return report


def _watch(store: Store, dep: Deployment) -> dict[str, Any] | None:
    """The watch after promotion in progress, if it is: what it compares, its time left and
    its last run."""
    for step in store.steps(dep.id):
        if step.kind != "post_promotion" or step.state != "running" or not step.started_at:
            continue
        duration = float(step.params.get("duration_s", 0.0))
        elapsed = seconds_between(step.started_at, store.now()) or 0.0
        runs = [r for r in store.analysis_runs(dep.id) if r.analysis == "post-promotion"]
        return {
            "version": (step.params.get("canary") or {}).get("version"),
            "baseline": (step.params.get("baseline") or {}).get("version"),
            "started_at": step.started_at,
            "duration_s": duration,
            "left_s": round(max(0.0, duration - elapsed), 1),
            "runs": len(runs),
            "last_run": runs[-1].summary if runs else None,
        }
    return None


def current_dict(env: Environment, current: CurrentRelease) -> dict[str, Any]:
    """The environment's current release; on a fleet, each host's (``--limit`` may have left
    several releases current at once: ``mixed``) and which hosts run which."""
    found: dict[str, Any] = {
        "version": current.version,
        "release_digest": current.release_digest,
        "since": current.updated_at,
        "deployment": current.deployment_id,
    }
    if env.fleet is None:
        return found
    hosts: dict[str, Any] = {}
    by_version: dict[str, list[str]] = {}
    for host in env.fleet.app_hosts:
        record = current.on(host)
        hosts[host] = (
            {"version": record.version, "since": record.at, "deployment": record.deployment_id}
            if record
            else None
        )
        by_version.setdefault(record.version if record else "none", []).append(host)
    found["version"] = current.common(env.fleet.app_hosts)
    found["hosts"] = hosts
    found["versions"] = by_version
    found["mixed"] = len(by_version) > 1
    return found


def _live(env: Environment, backends: Backends, report: dict[str, Any]) -> dict[str, str]:
    """Each slot as the target and the router report it (into ``report``); slot → the
    version it serves, for the slots that serve."""
    instances = {i.slot: i for i in backends.target.instances()}
    servers = {s.slot: s for s in backends.router.servers()}
    if isinstance(backends.router, HeaderRouter):
        report["header_routes"] = [
            {"match": match, "name": name, "value": value, "slots": slots}
            for match, name, value, slots in backends.router.routes_in_effect()
        ]
    unreachable = backends.target.unreachable if isinstance(backends.target, FleetTarget) else {}
    for host, why in unreachable.items():
        report["problems"].append(f"host {host} does not answer ({why}): its slots are unknown")
    serving_versions: dict[str, str] = {}
    for instance, slot, port in env.slots():
        inst, server = instances.get(slot), servers.get(slot)
        if inst is None and (server is None or server.admin == "maint"):
            continue
        serving = bool(inst and inst.running and server and server.admin == "ready")
        if serving and inst:
            serving_versions[slot] = inst.version
        report["instances"].append(
            {
                "instance": instance,
                "slot": slot,
                "port": port,
                "version": inst.version if inst else None,
                "process": inst.state if inst else "absent",
                "pid": inst.pid if inst else None,
                "router": f"{server.admin}/{server.operational}" if server else "absent",
                "serving": serving,
            }
        )
        if server and server.admin == "ready" and not (inst and inst.running):
            report["problems"].append(f"{slot} takes traffic but no process runs there")
    _processes(env, backends, report)
    return serving_versions


def _disagreements(
    env: Environment,
    current: CurrentRelease | None,
    serving: dict[str, str],
    *,
    interrupted: bool,
) -> list[str]:
    if current is None:
        return []
    if not serving:
        return [
            f"nothing serves {current.version}: stopped with `slipway down`? "
            f"`slipway deploy --version {current.version}` starts it again"
        ]
    if interrupted:
        return []
    hosts = env.slot_hosts()
    wrong: dict[tuple[str, str], list[str]] = {}  # (serving, current) → where
    for slot, version in serving.items():
        record = current.on(hosts[slot]) if slot in hosts else None
        expected = record.version if record else current.version
        if version != expected:
            wrong.setdefault((version, expected), []).append(hosts.get(slot, slot))
    if not wrong:
        return []
    if not hosts:
        return [
            f"serving {', '.join(sorted({v for v, _ in wrong}))} although the current release"
            f" is {current.version}"
        ]
    return [
        f"serving {version} on {', '.join(sorted(set(where)))} although the current release"
        f" there is {expected}"
        for (version, expected), where in sorted(wrong.items())
    ]


MAX_HISTORY = 1000  # deployments read to filter by host


def history(
    env: Environment, *, store: Store, limit: int, hosts: str | None = None
) -> list[dict[str, Any]]:
    """Past deployments, newest first; on a fleet, the hosts each made its release current on
    (a ``--limit`` deployment some of them; a rejected one none). ``hosts``: an Ansible
    pattern — only the deployments that made their release current on one of those hosts
    (what a host went through, after ``--limit`` deployments)."""
    wanted = _hosts_wanted(env, hosts)
    found = store.deployments(env.app, env.name, limit=limit if wanted is None else MAX_HISTORY)
    made_current = store.hosts_of([d.id for d in found]) if env.fleet is not None else {}
    if wanted is not None:
        found = [d for d in found if wanted & set(made_current.get(d.id, []))][:limit]
    result = []
    for dep in found:
        steps = store.steps(dep.id)
        entry = deployment_dict(dep)
        entry["steps"] = {
            "total": len(steps),
            "failed": sum(s.state == "failed" for s in steps),
        }
        if env.fleet is not None:
            entry["hosts"] = made_current.get(dep.id, [])
        result.append(entry)
    return result


def _hosts_wanted(env: Environment, pattern: str | None) -> set[str] | None:
    if pattern is None:
        return None
    if env.fleet is None:
        raise UsageError(
            "`--host` picks hosts of a fleet: this environment runs on no SSH hosts",
            hint="leave it out: every deployment here ran on the same target",
        )
    return set(env.fleet.select(pattern))


def logs(env: Environment, *, store: Store, deployment: str) -> dict[str, Any]:
    """One deployment whole: its steps, every analysis run, the signals people sent, events."""
    dep = store.find_deployment(deployment)
    if dep is None or dep.app != env.app:
        raise UsageError(
            f"no single deployment matches {deployment!r}",
            hint="`slipway history` lists deployment ids; give more of the id",
        )
    recorded = store.events(dep.id)
    hosts: dict[str, str] = next(
        (e.data["hosts"] for e in reversed(recorded) if "hosts" in (e.data or {})), {}
    )
    return {
        "deployment": deployment_dict(dep),
        "hosts": hosts,  # a fleet's hosts and what happened to each (empty when local)
        "steps": [step_dict(s) for s in store.steps(dep.id)],
        # every analysis run: what was measured on canary and baseline, and the verdict
        "analysis": [_analysis_dict(r) for r in store.analysis_runs(dep.id)],
        "signals": [
            {
                "kind": sig.kind,
                "by": sig.sender,
                "actor": sig.actor,
                "os_user": sig.os_user,
                "host": sig.host,
                "comment": sig.comment,
                "at": sig.created_at,
                "outcome": sig.outcome,
            }
            for sig in store.signals(dep.id)
        ],
        "events": [
            {
                "at": e.at,
                "level": e.level,
                "message": e.message,
                **({"data": e.data} if e.data else {}),
            }
            for e in recorded
        ],
    }


def _processes(env: Environment, backends: Backends, report: dict[str, Any]) -> None:
    """The roles' processes as the target reports them; a singleton running twice, or a
    role short of processes, is a problem."""
    if backends.roles is None:
        return
    found = backends.roles.processes()
    for p in found:
        report["processes"].append(
            {
                "role": p.role,
                "process": p.name,
                "version": p.version,
                "state": p.state,
                "pid": p.pid,
            }
        )
    for role, spec in env.roles.items():
        running = [p for p in found if p.role == role and p.running]
        if spec.singleton and len(running) > 1:
            report["problems"].append(f"{len(running)} {role} processes run: it is a singleton")
        elif report["current"] and len(running) < spec.count:
            report["problems"].append(f"{role}: {len(running)} of {spec.count} processes run")


def step_dict(s: StepRecord) -> dict[str, Any]:
    return {
        "seq": s.seq,
        "phase": s.phase,
        "kind": s.kind,
        "description": s.description,
        "state": s.state,
        "attempts": s.attempts,
        "error": s.error,
        "result": s.result,
        "started_at": s.started_at,
        "duration_s": seconds_between(s.started_at, s.ended_at),
    }


def _analysis_dict(r: AnalysisRun) -> dict[str, Any]:
    return {
        "analysis": r.analysis,
        "run": r.run_no,
        "at": r.at,
        "canary": r.canary_version,
        "baseline": r.baseline_version,
        "weight": r.weight,
        "verdict": r.verdict,
        "summary": r.summary,
        "measurements": r.measurements,
    }
