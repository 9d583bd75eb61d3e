"""``slipway promote``, ``approve``, ``reject`` and ``abort``: a person speaks to a running
deployment from another terminal (through the store), and hears what it did."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slipway.cli.base import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    Output,
    OutputOpt,
    app,
    out,
    reports_errors,
    session,
)

DeploymentArg = Annotated[
    str | None,
    typer.Argument(help="Deployment id or prefix (default: the one running)."),
]
CommentOpt = Annotated[str | None, typer.Option("--comment", "-m", help="Why; recorded.")]
HEARD_WITHIN_S = 10.0
ABORT_WAIT_S = 600.0


def _signal(
    kind: str,
    deployment: str | None,
    comment: str | None,
    file: Path,
    env: str | None,
    output: Output,
) -> None:
    from slipway.clock import SystemClock
    from slipway.engine import control
    from slipway.view import outcome_line, print_json

    clock = SystemClock()
    with session(file, env) as s:
        dep, sent = control.send(
            s.env, s.store, kind, who=control.actor(), comment=comment, deployment=deployment
        )
        heard = control.wait_handled(s.store, sent, clock=clock, timeout_s=HEARD_WITHIN_S)
        final = None
        if kind == "abort" and heard.handled_at is not None:
            final = control.wait_ended(s.store, dep, clock=clock, timeout_s=ABORT_WAIT_S)
    if output is Output.json:
        print_json(
            {
                "deployment": dep.id,
                "signal": kind,
                "by": sent.actor,
                "heard": heard.handled_at is not None,
                "outcome": heard.outcome,
                "status": final.status if final else None,
            }
        )
    elif heard.handled_at is None:
        out().print(
            f"{kind} sent to {dep.id} by {sent.actor}; its runner will act on it at its "
            "next pause or gate",
            markup=False,
        )
    else:
        out().print(f"{dep.id}: {kind} by {sent.actor}: {heard.outcome}", markup=False)
        if final is not None:
            out().print(outcome_line(final))


SIGNALS = {
    "promote": "Go on: end the current pause or promote gate (a blue-green switch, a canary step).",
    "approve": "Say yes at the gate a deployment waits at; who, when and why are recorded.",
    "reject": "Say no at the gate a deployment waits at: it rolls back.",
    "abort": "Stop a running deployment now and roll it back (traffic first).",
}


def _register(kind: str, help_text: str) -> None:
    """One command per signal: the same options, the same answer, another kind."""

    def command(
        deployment: DeploymentArg = None,
        comment: CommentOpt = None,
        file: FileOpt = Path(DEFAULT_FILE),
        env: EnvOpt = None,
        output: OutputOpt = Output.text,
    ) -> None:
        _signal(kind, deployment, comment, file, env, output)

    command.__name__ = kind
    command.__doc__ = help_text
    app.command(kind)(reports_errors(command))


for _kind, _help in SIGNALS.items():
    _register(_kind, _help)


@app.command()
@reports_errors
def maintenance(
    state: Annotated[str, typer.Argument(help="on, off, or status.", metavar="on|off|status")],
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    output: OutputOpt = Output.text,
) -> None:
    """The router's maintenance page (503, Retry-After; testers pass with the bypass header)."""
    from slipway.deployment import Deployer
    from slipway.errors import UsageError
    from slipway.view import print_json

    wanted = {"on": True, "off": False, "status": None}
    if state not in wanted:
        raise UsageError(f"maintenance {state!r}?", hint="say on, off or status")
    with session(file, env) as s:
        on = Deployer(s.env, store=s.store, backends=s.backends).maintenance(wanted[state])
    if output is Output.json:
        print_json({"environment": s.env.name, "maintenance": on})
        return
    out().print(f"{s.env.app}/{s.env.name}: maintenance page {'on' if on else 'off'}", markup=False)
