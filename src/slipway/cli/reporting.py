"""``status``, ``history`` and ``logs``: what ``slipway.reports`` says, printed.

Every value printed here was recorded from users or the world (a reason, an error, a health
endpoint's body): it is printed as plain text, never as markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from slipway.cli.base import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    LimitOpt,
    Output,
    OutputOpt,
    app,
    out,
    reports_errors,
    session,
)


def _say(text: str, style: str | None = None) -> None:
    """One line of recorded data: plain text (never markup), secrets masked."""
    from rich.text import Text

    from slipway.redact import scrub

    out().print(Text(scrub(text), style=style or ""), highlight=False)


@app.command()
@reports_errors
def status(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    limit: LimitOpt = None,
) -> None:
    """What runs where, what the store says, and where they disagree."""
    from slipway import reports
    from slipway.view import print_json, table

    with session(file, env, limit) as s:
        data = reports.status(s.env, store=s.store, backends=s.backends)
    if output is Output.json:
        print_json(data)
        return
    current = data["current"]
    _say(
        f"{data['app']}/{data['environment']}: current release "
        f"{current['version'] if current else 'none'}"
        + (f" since {current['since']}" if current and not current.get("mixed") else ""),
        "bold",
    )
    if current and current.get("mixed"):  # a --limit deployment left hosts on several releases
        for version, hosts in sorted(current["versions"].items()):
            _say(f"mixed: {version} current on {len(hosts)} host(s): {', '.join(hosts)}", "yellow")
    last = data["last_deployment"]
    if last:
        _say(f"last deployment {last['id']}: {last['kind']} {last['version']} → {last['status']}")
    if data["interrupted"]:
        _say(f"interrupted: {data['interrupted']['hint']}", "red bold")
    if data["watch"]:
        watch = data["watch"]
        _say(
            f"watching {watch['version']} after promotion against {watch['baseline']}'s "
            f"pre-deploy baseline: {watch['left_s']:g}s left of {watch['duration_s']:g}s, "
            f"{watch['runs']} runs" + (f" (last: {watch['last_run']})" if watch["last_run"] else "")
        )
    if data["lock"]:
        lock = data["lock"]
        _say(f"locked by {lock['deployment']} ({lock['holder']}) since {lock['since']}")
    columns = ["instance", "slot", "port", "version", "process", "router", "serving"]
    rows = [
        [*(i[c] for c in columns[:-1]), "yes" if i["serving"] else "no"] for i in data["instances"]
    ]
    out().print(table("instances", columns, rows))
    if data["processes"]:
        columns = ["role", "process", "version", "state", "pid"]
        rows = [[str(p[c]) for c in columns] for p in data["processes"]]
        out().print(table("processes without traffic", columns, rows))
    for route in data.get("header_routes", []):
        slots = ", ".join(route["slots"])
        _say(f"{route['match']} {route['name']}: {route['value']} → {slots}, whatever the weights")
    for problem in data["problems"]:
        _say(f"! {problem}", "yellow")


@app.command()
@reports_errors
def history(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="On a fleet: only deployments that made their release current on these "
            "hosts (an Ansible pattern, like --limit).",
        ),
    ] = None,
    output: OutputOpt = Output.text,
) -> None:
    """Past deployments, newest first."""
    from slipway import reports
    from slipway.view import print_json, table

    with session(file, env) as s:
        data = reports.history(s.env, store=s.store, limit=limit, hosts=host)
    if output is Output.json:
        print_json({"deployments": data})
        return
    keys = ["id", "kind", "version", "previous_version", "status", "duration_s", "rollback_s"]
    rows = [[d[k] for k in keys] for d in data]
    columns = ["id", "kind", "version", "from", "outcome", "duration s", "rollback s"]
    if s.env.fleet is not None:  # which hosts each made current: --limit made some only
        every = len(s.env.fleet.app_hosts)
        for row, d in zip(rows, data, strict=True):
            row.append(_hosts_cell(d["hosts"], every))
        columns.append("current on")
    out().print(table("history", columns, rows))


def _hosts_cell(hosts: list[str], every: int) -> str:
    if len(hosts) == every:
        return f"all {every} hosts"
    shown = ", ".join(hosts[:4]) or "none"
    return shown + (f" +{len(hosts) - 4}" if len(hosts) > 4 else "")


@app.command()
@reports_errors
def logs(
    deployment: Annotated[str, typer.Argument(help="Deployment id (or a unique prefix).")],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Steps and events of one deployment."""
    from slipway import reports
    from slipway.view import print_json

    with session(file, env) as s:
        data = reports.logs(s.env, store=s.store, deployment=deployment)
    if output is Output.json:
        print_json(data)
        return
    _print_logs(data)


def _print_logs(data: dict[str, Any]) -> None:
    from slipway.view import table

    dep = data["deployment"]
    _say(f"{dep['id']}: {dep['kind']} {dep['version']} → {dep['status']}", "bold")
    if dep["reason"]:
        _say(f"reason: {dep['reason']}")
    keys = ["seq", "phase", "description", "state", "duration_s", "error"]
    rows = [[st[k] for k in keys] for st in data["steps"]]
    out().print(table("steps", ["#", "phase", "step", "state", "s", "error"], rows))
    if data["analysis"]:
        keys = ["analysis", "run", "weight", "verdict", "summary"]
        runs = [[a[k] for k in keys] for a in data["analysis"]]
        columns = ["analysis", "run", "weight %", "verdict", "measured"]
        out().print(table("analysis", columns, runs))
    for sig in data["signals"]:
        said = f" ({sig['comment']})" if sig["comment"] else ""
        _say(f"{sig['at']} {sig['kind']} by {sig['by']}{said}: {sig['outcome']}")
    for e in data["events"]:
        _say(f"{e['at']} [{e['level']}] {e['message']}")


@app.command()
@reports_errors
def metrics(
    file: FileOpt = Path(DEFAULT_FILE),
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="One environment (default: all).")
    ] = None,
    since: Annotated[str, typer.Option(help="The window: 30d, 12w, 48h.")] = "30d",
    output: OutputOpt = Output.text,
) -> None:
    """DORA's four keys from the store: frequency, lead time, change failure rate, restore."""
    from slipway.cli.base import OPTIONS
    from slipway.database.store_url import open_store
    from slipway.metrics import dora
    from slipway.spec import load_spec
    from slipway.view import print_json, table

    days = _days(since)
    loaded = load_spec(file)
    first = loaded.environment(env or next(iter(loaded.spec.environments)))
    store = open_store(first, url_env=OPTIONS.store_url_env)
    try:
        found = dora(store, loaded.spec.app, environment=env, since_days=days)
    finally:
        store.close()
    if output is Output.json:
        print_json(found.as_dict())
        return
    lead, restore = found.lead_time_s, found.restore_s
    rate = found.change_failure_rate
    rows = [
        ("deployment frequency", f"{found.per_day:g}/day ({found.succeeded} succeeded)"),
        (
            "lead time for changes",
            f"median {_dur(lead['median'])}, p90 {_dur(lead['p90'])} ({lead['known']:g} known)",
        ),
        (
            "change failure rate",
            "—"
            if rate is None
            else f"{rate:.1%} ({found.failures} of {found.deployments}: "
            f"{found.caught} caught before full traffic, {found.escaped} escaped)",
        ),
        (
            "time to restore",
            f"median {_dur(restore['median'])}, worst {_dur(restore['max'])} "
            f"({restore['count']:g} restores)",
        ),
    ]
    where = f"{found.app}/{env}" if env else f"{found.app} (all environments)"
    out().print(table(f"DORA: {where}, last {since}", ["metric", "value"], rows))
    for name, text in found.definitions.items():
        _say(f"{name}: {text}")


def _days(since: str) -> float:
    from slipway.errors import UsageError

    units = {"d": 1.0, "w": 7.0, "h": 1 / 24}
    value = since.strip().lower()
    try:
        days = float(value[:-1]) * units[value[-1]] if value[-1:] in units else float(value)
    except ValueError:
        days = -1.0
    if not 0 < days <= 3660:
        raise UsageError(f"--since {since!r} is not a window", hint="write 30d, 12w or 48h")
    return days


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"
