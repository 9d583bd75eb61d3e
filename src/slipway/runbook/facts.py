"""What the runbook says, gathered from the spec and the store (the renderer only formats).

The commands are the ones Slipway runs: the argv of each check, the health
probe's URL, the ``pg_dump``/``pg_restore`` lines from ``database.postgres``,
the migration command, and the plan ``build_plan`` makes for a next version
from the environment's steady state (its current release serving in each
instance's first slot), so the document does not change with which slot
happens to be live. History rows and measured rollback times come from the
store: deployments, their notes (author, spec digest), drills.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime

from slipway.database.postgres import dump_argv, list_argv, restore_argv
from slipway.plan import build_plan
from slipway.spec.digest import spec_digest
from slipway.spec.environment import Environment
from slipway.spec.process import CommandCheckSpec, HttpCheckSpec
from slipway.steps import Placement, Step
from slipway.store import CurrentRelease, Deployment, Store
from slipway.store.records import Backup, Drill, Records

NEXT = "<version>"
HISTORY_ROWS = 10


@dataclass(frozen=True)
class HistoryRow:
    deployment: Deployment
    who: str | None
    current_spec: bool
    duration_s: float | None


@dataclass(frozen=True)
class Measured:
    """One measured rollback: where it comes from and how long it took."""

    source: str  # "drill" | "rollback" (a `slipway rollback`) | "automatic"
    reference: str
    at: str
    seconds: float


@dataclass
class Facts:
    env: Environment
    digest: str
    current: CurrentRelease | None
    plan: list[Step]
    history: list[HistoryRow] = field(default_factory=list)
    drills: list[Drill] = field(default_factory=list)
    last_backup: Backup | None = None
    rollbacks: list[Measured] = field(default_factory=list)


def gather(env: Environment, store: Store) -> Facts:
    records = Records(store)
    current = store.current(env.app, env.name)
    deployments = store.deployments(env.app, env.name, limit=50)
    notes = records.deployment_notes([d.id for d in deployments])
    digest = spec_digest(env)
    history = [
        HistoryRow(
            deployment=d,
            who=notes[d.id].who if d.id in notes else None,
            current_spec=d.id in notes and notes[d.id].spec_digest == digest,
            duration_s=seconds_between(d.started_at, d.ended_at),
        )
        for d in deployments
    ]
    drills = records.drills(env.app, env.name, limit=HISTORY_ROWS)
    return Facts(
        env=env,
        digest=digest,
        current=current,
        plan=steady_plan(env, current),
        history=history,
        drills=drills,
        last_backup=records.last_backup(env.app, env.name),
        rollbacks=measured_rollbacks(deployments, drills),
    )


def steady_plan(env: Environment, current: CurrentRelease | None) -> list[Step]:
    """The plan of a next deployment from the steady state (or from nothing at all)."""
    placement = []
    if current is not None:
        names = {instance for instance, _, _ in env.slots()}
        hosts = env.slot_hosts()
        for instance, slot, _ in env.slots():
            if slot == f"{instance}_a" and instance in names:
                record = current.on(hosts[slot]) if slot in hosts else None
                version = record.version if record else current.version
                placement.append(Placement(slot, version, running=True, serving=True))
    return build_plan(env, version=NEXT, placement=placement)


def measured_rollbacks(deployments: list[Deployment], drills: list[Drill]) -> list[Measured]:
    """Every measured rollback, newest first: drills, manual rollbacks, automatic ones."""
    found = [
        Measured("drill", f"{d.version} → {d.back_to}", d.at, d.rollback_s)
        for d in drills
        if d.rollback_s is not None and d.outcome == "passed"
    ]
    drilled = {d.rollback_id for d in drills}
    for d in deployments:
        if d.kind == "rollback" and d.status == "succeeded" and d.id not in drilled:
            took = d.rollback_s or seconds_between(d.started_at, d.ended_at)
            if took is not None:  # `slipway rollback`: the whole command is the rollback
                found.append(Measured("rollback", d.id, d.started_at, took))
        elif d.kind == "deploy" and d.status in ("rolled_back", "aborted") and d.rollback_s:
            found.append(Measured("automatic", d.id, d.started_at, d.rollback_s))
    return sorted(found, key=lambda m: m.at, reverse=True)


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


# the commands, as Slipway runs them


def health_probe(env: Environment) -> str:
    check = env.health.check
    if isinstance(check, HttpCheckSpec):
        body = f" containing {check.expect_body!r}" if check.expect_body else ""
        return (
            f"GET http://127.0.0.1:<port>{check.path} → {check.expect_status}{body} "
            f"within {check.timeout_s:g}s"
        )
    if isinstance(check, CommandCheckSpec):
        return f"`{shlex.join(check.command)}` exits 0 within {check.timeout_s:g}s"
    return f"TCP connect to 127.0.0.1:<port> within {check.timeout_s:g}s"


def release_source(env: Environment) -> str:
    if env.release.build:
        build = env.release.build.replace("{output}", "<tmp>").replace("{version}", NEXT)
        return f"`{build}` (build)"
    path = (env.release.path or "").replace("{version}", NEXT)
    return f"`{path}` (copied or unpacked)"


def database_commands(env: Environment) -> dict[str, str]:
    """The database's command lines, with placeholders where a value is chosen at run time."""
    db = env.database
    if db is None:
        return {}
    dump = f"{env.state_dir / db.backup_dir}/bk-<id>.dump"
    commands = {
        "backup": shlex.join(dump_argv(dump)),
        "verify": shlex.join(list_argv(dump)),
        "restore": shlex.join(restore_argv(dump, "<dbname>", clean=True)),
        "rehearse_restore": shlex.join(
            restore_argv(dump, "<dbname>_rehearsal_<token>", clean=False)
        ),
    }
    if db.migrate is not None:
        commands["migrate"] = shlex.join(db.migrate.command)
    return commands


def slipway_command(verb: str, env: Environment, *extra: str) -> str:
    """A ``slipway`` command line; ``extra`` may hold ``<placeholders>`` (shown unquoted)."""
    return " ".join(["slipway", verb, "--env", env.name, *extra])


def other_runs(step: Step, env: Environment) -> str | None:
    """What runs for the steps of roles, media backups, maintenance, header routes and
    migrating back."""
    params = step.params.as_dict()
    role = env.roles.get(str(params.get("role", "")))
    name = str(params.get("name", ""))
    match step.kind:
        case "start_process" if role is not None:
            argv = [a.replace("{name}", name).replace("{version}", NEXT) for a in role.command]
            return f"`{shlex.join(argv)}` in releases/{NEXT}/ (supervisord program role-{name})"
        case "check_process" if role is not None and role.check is not None:
            argv = [a.replace("{name}", name) for a in role.check.command]
            return f"`{shlex.join(argv)}` until it exits 0 (within {role.check.within_s:g}s)"
        case "stop_process" if role is not None:
            return f"SIGTERM (running work finishes), SIGKILL after {role.stop_timeout_s:g}s"
        case "backup_media" if env.media is not None:
            return f"tar of {env.media.path} with a sha256 manifest, every member read back"
        case "maintenance":
            return "HAProxy runtime API: `add map`/`del map` of maintenance.map (no reload)"
        case "set_header_route" | "clear_header_routes":
            return "HAProxy runtime API: `prepare map`/`add map`/`commit map` of route-*.map"
        case "migrate_back":
            targets = params.get("targets") or {}
            return ", ".join(f"`manage.py migrate {a} {t}`" for a, t in targets.items())
    return None
