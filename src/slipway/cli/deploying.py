"""``plan``, ``deploy``, ``drill``, ``rollback``, ``resume`` and ``down``.

Each asks ``slipway.deployment.Deployer`` — the library's one entry point — and only turns
its answer into output and an exit code. The live view watches beside the runbook's own
observers; SIGINT and SIGTERM ask the runner to stop after the current step and roll back.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from slipway.cli.base import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    LimitOpt,
    Output,
    OutputOpt,
    Session,
    app,
    err,
    out,
    parse_duration,
    reports_errors,
    session,
)

if TYPE_CHECKING:
    from slipway.deployment import Deployer, Request
    from slipway.engine import Outcome
    from slipway.spec import Environment
    from slipway.view import ProgressView

VersionOpt = Annotated[str, typer.Option("--version", "-v", help="Release to deploy.")]


@app.command()
@reports_errors
def plan(
    version: Annotated[str, typer.Option("--version", "-v", help="Release to plan for.")],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
    limit: LimitOpt = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Plan from the store's records alone: ask no process, router or host.",
        ),
    ] = False,
) -> None:
    """Print the pre-flight and the steps a deployment would run, changing nothing.

    It reads what runs where first — from supervisord and HAProxy here, or over SSH from
    every host of a fleet — unless --offline."""
    from slipway.deployment import Deployer
    from slipway.view import print_json, table

    with session(file, env, limit) as s:
        seen = Deployer(s.env, store=s.store, backends=s.backends).plan(version, offline=offline)
    if output is Output.json:
        print_json(seen.as_dict(s.env.name))
        return
    checks, steps, exposed = seen.preflight, seen.steps, seen.exposed
    out().print(f"what runs where, read from {seen.placement_from}", markup=False, highlight=False)
    if checks:
        rows = [(c["name"], c["type"], "yes" if c["blocking"] else "no") for c in checks]
        out().print(table("pre-flight (runs first)", ["check", "type", "blocking"], rows))
    rows2 = [(i, st.group, st.kind, st.description) for i, st in enumerate(steps)]
    out().print(
        table(f"plan: {s.env.app}/{s.env.name} → {version}", ["#", "group", "kind", "step"], rows2)
    )
    _print_migrations(seen.migrations)
    if exposed:
        out().print("listens beyond loopback:", style="yellow bold", markup=False)
        for line in exposed:
            out().print(f"  {line}", markup=False, highlight=False)
    _warn_exposed_admin(s.env)


def _print_migrations(migrations: dict[str, Any] | None) -> None:
    if migrations is None:
        return
    if "error" in migrations:
        out().print(f"migrations: unknown now ({migrations['error']})", markup=False)
        return
    apps = migrations["apps"]
    if not apps:
        out().print("migrations: none to apply", markup=False)
    for app_name, lines in apps.items():
        out().print(f"migrations of {app_name} (migrate --plan):", markup=False, style="bold")
        for line in lines:
            out().print(f"  {line}", markup=False, highlight=False)


def _warn_exposed_admin(env: Environment) -> None:
    """Loudly, every time: an admin API anyone on the network can drive."""
    admin = env.router.admin
    if admin is not None and not admin.loopback:
        err().print(
            f"WARNING: HAProxy's admin API listens on {admin}, beyond loopback, without "
            "authentication (expose_admin: true): whoever reaches it can take every "
            "server out of rotation",
            style="red bold",
            markup=False,
            highlight=False,
        )


@app.command()
@reports_errors
def deploy(
    version: VersionOpt,
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
    lock_wait: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="Wait up to this long (90s, 15m, 1h) for the lock, in order, instead of "
            "exiting 4 while another deployment runs.",
        ),
    ] = None,
    supersede: Annotated[
        bool,
        typer.Option(help="With --lock-wait: step aside (exit 4) if a newer deploy queues."),
    ] = False,
) -> None:
    """Run the pre-flight checks, then deploy a release; roll back by itself on failure."""
    from slipway.deployment import Request
    from slipway.engine.locking import LockWait

    wait = LockWait(parse_duration(lock_wait, "--lock-wait"), supersede) if lock_wait else None
    if supersede and wait is None:
        from slipway.errors import UsageError

        raise UsageError("--supersede goes with --lock-wait", hint="add --lock-wait 15m")
    request = Request(override_window=override_window, commit=commit, changes=change or [])
    with session(file, env, limit) as s, _deployer(s, output) as (deployer, _):
        outcome = deployer.deploy(
            version, request, on_verdict=_verdict_printer(s, version, output), wait=wait
        )
        _print_outcome(s, outcome, output)


@app.command()
@reports_errors
def drill(
    version: Annotated[
        str, typer.Option("--version", "-v", help="Release to deploy and roll back.")
    ],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """Rehearse deploy-then-rollback on an environment and record the measured rollback time."""
    from rich.markup import escape

    from slipway.view import print_json

    with session(file, env) as s, _deployer(s, output) as (deployer, _):
        result = deployer.drill(version, on_verdict=_verdict_printer(s, version, output))
    if output is Output.json:
        print_json(result.as_dict())
    else:
        took = f"{result.rollback_s:.2f}s" if result.rollback_s is not None else "—"
        style = "green" if result.within_target else "red"
        out().print(
            f"[{style} bold]drill {'passed' if result.passed else 'failed'}[/]: "
            f"{escape(result.version)} deployed ({result.deploy_status}), rolled back to "
            f"{escape(result.back_to)} in {took} (target < {result.target_s:g}s)",
            highlight=False,
        )
    if not result.within_target:
        raise typer.Exit(1)


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
    with session(file, env, limit) as s, _deployer(s, output) as (deployer, request):
        _print_outcome(s, deployer.rollback(to, request), output)


@app.command()
@reports_errors
def resume(
    file: FileOpt = Path(DEFAULT_FILE), env: EnvOpt = None, output: OutputOpt = Output.text
) -> None:
    """Continue (or roll back, per on_interrupt) a deployment whose runner died."""
    with session(file, env) as s, _deployer(s, output) as (deployer, request):
        _print_outcome(s, deployer.resume(request), output)


@app.command()
@reports_errors
def down(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    force: Annotated[
        bool,
        typer.Option(help="Even while a deployment runs (it is told, and this is recorded)."),
    ] = False,
) -> None:
    """Stop the instances, HAProxy and supervisord Slipway started for this environment."""
    from slipway.deployment import Request

    with session(file, env) as s, _deployer(s, Output.text) as (deployer, _):
        deployer.down(Request(), force=force)
    out().print(f"stopped {s.env.app}/{s.env.name}", highlight=False, markup=False)


@contextmanager
def _deployer(s: Session, output: Output) -> Iterator[tuple[Deployer, Request]]:
    """A deployer with the live view, stopped cleanly by SIGINT / SIGTERM while inside."""
    from slipway.deployment import Deployer, Request
    from slipway.view import ProgressView

    _warn_exposed_admin(s.env)
    view = ProgressView(err() if output is Output.json else out())
    deployer = Deployer(s.env, store=s.store, backends=s.backends, observer=view)
    old = {sig: signal.signal(sig, _stopper(deployer, view)) for sig in _SIGNALS}
    try:
        yield deployer, Request()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stopper(deployer: Deployer, view: ProgressView) -> Callable[[int, Any], None]:
    def stop(signum: int, _frame: Any) -> None:
        view.message(
            f"received signal {signum}: stopping after the current step, then rolling back",
            "warning",
        )
        deployer.request_stop()

    return stop


def _verdict_printer(s: Session, version: str, output: Output) -> Callable[[Any], None]:
    """How the pre-flight's verdict is shown before a deployment (stdout stays JSON)."""
    from slipway.cli.checklist import print_verdict

    def show(verdict: Any) -> None:
        if not verdict.rows:
            return
        if output is Output.json and verdict.go:
            err().print(verdict.summary(), highlight=False, markup=False)
        else:
            title = f"pre-flight: {s.env.app}/{s.env.name} → {version}"
            print_verdict(verdict, title=title, output=output)

    return show


def _print_outcome(s: Session, outcome: Outcome, output: Output) -> None:
    from slipway import reports
    from slipway.view import outcome_line, print_json

    if output is Output.json:
        print_json(reports.logs(s.env, store=s.store, deployment=outcome.deployment.id))
    else:
        out().print(outcome_line(outcome.deployment))
    raise typer.Exit(outcome.exit_code)
