"""The ``slipway`` command: parses arguments, calls the library, prints the result.

Nothing here decides anything. Every ``SlipwayError`` becomes a message and
its exit code (DESIGN.md: 0 succeeded, 1 failed, 2 invalid spec or usage,
3 rolled back, 4 not started); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from slipway.engine import Backends, Engine, Outcome
from slipway.engine import report as reports
from slipway.engine.observe import Observer, Observers
from slipway.errors import SlipwayError, SpecError, UsageError
from slipway.spec import DEFAULT_FILE, Environment, load_spec
from slipway.store import Store
from slipway.view import ProgressView, outcome_line, print_json, table

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Slipway runs your deployment runbook: checks, rollout, analysis, rollback, records.",
)
out = Console()
err = Console(stderr=True, soft_wrap=True)  # never break a path in an error message

P = ParamSpec("P")
R = TypeVar("R")


class Output(StrEnum):
    text = "text"
    json = "json"


FileOpt = Annotated[Path, typer.Option("--file", "-f", help="The spec file.")]
EnvOpt = Annotated[str | None, typer.Option("--env", "-e", help="Environment in the spec.")]
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="text or json.")]
LimitOpt = Annotated[
    str | None,
    typer.Option(
        "--limit",
        "-l",
        help="Fleet hosts to work on: an Ansible pattern (web1,web2 · web:&prod · all:!db1).",
    ),
]


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn Slipway's errors into a message and the exit code of their kind."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SlipwayError as exc:
            err.print(f"[red bold]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


@dataclass
class Session:
    env: Environment
    store: Store
    backends: Backends


@contextmanager
def session(file: Path, env_name: str | None, limit: str | None = None) -> Iterator[Session]:
    loaded = load_spec(file)
    env = loaded.environment(env_name, limit=limit)
    store = Store.for_state_dir(env.state_dir.parent)
    backends: Backends | None = None
    try:
        from slipway.clock import SystemClock

        backends = Backends.for_environment(env, clock=SystemClock())
        yield Session(env, store, backends)
    finally:
        if backends is not None:
            backends.close()
        store.close()


@app.command()
@reports_errors
def init(
    file: FileOpt = Path(DEFAULT_FILE),
    app_name: Annotated[str, typer.Option("--app", help="Name of the app.")] = "myapp",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented slipway.yaml to start from."""
    import re

    from slipway.spec.model import NAME_PATTERN
    from slipway.spec.template import render

    if not re.fullmatch(NAME_PATTERN, app_name):
        raise UsageError(f"invalid app name {app_name!r}", hint="lowercase letters, digits, '-'")
    if file.exists() and not force:
        raise UsageError(f"{file} already exists", hint="use --force to overwrite it")
    file.write_text(render(app_name))
    out.print(f"wrote {file}: edit it, then run `slipway validate`")


@app.command()
@reports_errors
def validate(file: FileOpt = Path(DEFAULT_FILE), output: OutputOpt = Output.text) -> None:
    """Check the spec; say what is wrong, where, and how to fix it."""
    loaded = load_spec(file)
    envs = list(loaded.spec.environments)
    if output is Output.json:
        print_json({"valid": True, "app": loaded.spec.app, "environments": envs})
    else:
        out.print(
            f"[green]✓[/] {file} is valid: app {loaded.spec.app}, environments {', '.join(envs)}"
        )


@app.command()
def schema() -> None:
    """Print the JSON Schema of slipway.yaml (for editors)."""
    from slipway.spec.model import Spec

    print_json(Spec.model_json_schema())


@app.command()
@reports_errors
def plan(
    version: Annotated[str, typer.Option("--version", "-v", help="Release to plan for.")],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    limit: LimitOpt = None,
) -> None:
    """Print the steps a deployment would run, touching nothing."""
    from slipway.engine.placement import read_placement
    from slipway.plan import build_plan
    from slipway.release import check_version

    check_version(version)
    with session(file, env, limit) as s:
        steps = build_plan(s.env, version=version, placement=read_placement(s.backends))
    exposed = s.env.router.exposed()
    if output is Output.json:
        print_json(
            {
                "environment": s.env.name,
                "version": version,
                "steps": [st.as_dict() for st in steps],
                "exposed": exposed,
            }
        )
        return
    rows = [(i, st.group, st.kind, st.description) for i, st in enumerate(steps)]
    out.print(
        table(f"plan: {s.env.app}/{s.env.name} → {version}", ["#", "group", "kind", "step"], rows)
    )
    if exposed:
        out.print(Text("listens beyond loopback:", style="yellow bold"))
        for line in exposed:
            out.print(Text(f"  {line}"), highlight=False)
    _warn_exposed_admin(s.env)


def _warn_exposed_admin(env: Environment) -> None:
    """Loudly, every time: an admin API anyone on the network can drive."""
    admin = env.router.admin
    if admin is not None and not admin.loopback:
        err.print(
            Text(
                f"WARNING: HAProxy's admin API listens on {admin}, beyond loopback, without "
                "authentication (expose_admin: true): whoever reaches it can take every "
                "server out of rotation",
                style="red bold",
            ),
            highlight=False,
        )


def _run(
    s: Session,
    output: Output,
    action: Callable[[Engine], Outcome],
    observers: Sequence[Observer] = (),
) -> None:
    _warn_exposed_admin(s.env)
    view = ProgressView(err if output is Output.json else out)
    observer = Observers(view, *observers) if observers else view
    engine = Engine(s.env, store=s.store, backends=s.backends, observer=observer)

    def stop(signum: int, _frame: Any) -> None:
        view.message(
            f"received signal {signum}: stopping after the current step, then rolling back",
            "warning",
        )
        engine.request_stop()

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = action(engine)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if output is Output.json:
        print_json(reports.logs(s.env, store=s.store, deployment=outcome.deployment.id))
    else:
        out.print(outcome_line(outcome.deployment))
    raise typer.Exit(outcome.exit_code)


@app.command()
@reports_errors
def deploy(
    version: Annotated[str, typer.Option("--version", "-v", help="Release to deploy.")],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    limit: LimitOpt = None,
    override_window: Annotated[
        str | None,
        typer.Option(metavar="REASON", help="Deploy outside the window; the reason is recorded."),
    ] = None,
    commit: Annotated[str | None, typer.Option(help="Commit id, for the record.")] = None,
    change: Annotated[
        list[str] | None, typer.Option(help="A change this release brings (repeatable).")
    ] = None,
) -> None:
    """Run the pre-flight checks, then deploy a release; roll back by itself on failure."""
    from slipway.cli.runbook import preflight_or_stop

    with session(file, env, limit) as s:
        observers = preflight_or_stop(
            s,
            output,
            version=version,
            purpose="deploy",
            override_window=override_window,
            commit=commit,
            changes=change or [],
        )
        _run(s, output, lambda e: e.deploy(version), observers)


@app.command()
@reports_errors
def rollback(
    to: Annotated[str | None, typer.Option("--to", help="Release to put back.")] = None,
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    limit: LimitOpt = None,
) -> None:
    """Put the previous (or the given) release back: traffic first, then instances."""
    from slipway.cli.runbook import runbook_observers

    with session(file, env, limit) as s:
        _run(s, output, lambda e: e.rollback(to), runbook_observers(s))


@app.command()
@reports_errors
def resume(
    file: FileOpt = Path(DEFAULT_FILE), env: EnvOpt = None, output: OutputOpt = Output.text
) -> None:
    """Continue (or roll back, per on_interrupt) a deployment whose runner died."""
    from slipway.cli.runbook import runbook_observers

    with session(file, env) as s:
        _run(s, output, lambda e: e.resume(), runbook_observers(s))


@app.command()
@reports_errors
def status(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    limit: LimitOpt = None,
) -> None:
    """What runs where, what the store says, and where they disagree."""
    with session(file, env, limit) as s:
        data = reports.status(s.env, store=s.store, backends=s.backends)
    if output is Output.json:
        print_json(data)
        return
    current = data["current"]
    out.print(
        f"[bold]{data['app']}/{data['environment']}[/]: current release "
        f"[bold]{current['version'] if current else 'none'}[/]"
        + (f" since {current['since']}" if current else "")
    )
    last = data["last_deployment"]
    if last:
        out.print(
            f"last deployment {last['id']}: {last['kind']} {last['version']} → {last['status']}"
        )
    if data["interrupted"]:
        out.print(f"[red bold]interrupted:[/] {data['interrupted']['hint']}")
    if data["lock"]:
        lock = data["lock"]
        out.print(f"locked by {lock['deployment']} ({lock['holder']}) since {lock['since']}")
    rows = [
        (
            i["instance"],
            i["slot"],
            i["port"],
            i["version"],
            i["process"],
            i["router"],
            "yes" if i["serving"] else "no",
        )
        for i in data["instances"]
    ]
    out.print(
        table(
            "instances",
            ["instance", "slot", "port", "version", "process", "router", "serving"],
            rows,
        )
    )
    for problem in data["problems"]:
        out.print(f"[yellow]! {problem}[/]")


@app.command()
@reports_errors
def history(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    output: OutputOpt = Output.text,
) -> None:
    """Past deployments, newest first."""
    with session(file, env) as s:
        data = reports.history(s.env, store=s.store, limit=limit)
    if output is Output.json:
        print_json({"deployments": data})
        return
    rows = [
        (
            d["id"],
            d["kind"],
            d["version"],
            d["previous_version"],
            d["status"],
            d["duration_s"],
            d["rollback_s"],
        )
        for d in data
    ]
    out.print(
        table(
            "history",
            ["id", "kind", "version", "from", "outcome", "duration s", "rollback s"],
            rows,
        )
    )


@app.command()
@reports_errors
def logs(
    deployment: Annotated[str, typer.Argument(help="Deployment id (or a unique prefix).")],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Steps and events of one deployment."""
    with session(file, env) as s:
        data = reports.logs(s.env, store=s.store, deployment=deployment)
    if output is Output.json:
        print_json(data)
        return
    dep = data["deployment"]
    out.print(f"[bold]{dep['id']}[/]: {dep['kind']} {dep['version']} → {dep['status']}")
    if dep["reason"]:
        out.print(f"reason: {dep['reason']}")
    rows = [
        (st["seq"], st["phase"], st["description"], st["state"], st["duration_s"], st["error"])
        for st in data["steps"]
    ]
    out.print(table("steps", ["#", "phase", "step", "state", "s", "error"], rows))
    if data["analysis"]:
        runs = [
            (a["analysis"], a["run"], a["weight"], a["verdict"], a["summary"])
            for a in data["analysis"]
        ]
        out.print(table("analysis", ["analysis", "run", "weight %", "verdict", "measured"], runs))
    for sig in data["signals"]:
        said = f" ({sig['comment']})" if sig["comment"] else ""
        out.print(f"{sig['at']} {sig['kind']} by {sig['by']}{said}: {sig['outcome']}")
    for e in data["events"]:
        out.print(f"{e['at']} [{e['level']}] {e['message']}", highlight=False)


@app.command()
@reports_errors
def down(file: FileOpt = Path(DEFAULT_FILE), env: EnvOpt = None) -> None:
    """Stop the instances, HAProxy and supervisord Slipway started for this environment."""
    with session(file, env) as s:
        s.backends.router.down()
        s.backends.target.down()
    out.print(f"stopped {s.env.app}/{s.env.name}")


@app.command()
@reports_errors
def demo(
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Spec of the sample app.")
    ] = None,
    output: OutputOpt = Output.text,
) -> None:
    """Run the whole story on this machine: deploy, roll under load, reject a bad release."""
    from slipway.demo import run_demo

    view_console = err if output is Output.json else out
    result = run_demo(file, console=view_console)
    if output is Output.json:
        print_json(result)
        return
    rows = [
        (
            p["version"],
            p["strategy"],
            p["outcome"],
            _seconds(p["duration_s"]),
            p["requests"],
            p["failed_requests"],
            _seconds(p["decision_s"]),
            _seconds(p["rollback_s"]),
        )
        for p in result["phases"]
    ]
    # short headers: eight columns fit an 80-column CI log whole
    columns = ["version", "strategy", "outcome", "secs", "reqs", "failed", "decide s", "back s"]
    out.print(table("demo", columns, rows))


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# Commands that live in their own modules register themselves on `app` when imported.
from slipway.cli import control as _control  # noqa: E402, F401


def main() -> None:
    try:
        app()
    except SpecError as exc:  # raised outside a command (should not happen): still no traceback
        err.print(f"error: {exc}")
        sys.exit(2)


# The runbook's commands register themselves on `app` (check, runbook, drill).
from slipway.cli import runbook as _runbook_commands  # noqa: E402, F401
