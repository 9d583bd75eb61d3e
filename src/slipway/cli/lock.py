"""``slipway lock status | acquire | release``: the environment's lock, for people (as in Kamal).

Each asks ``Deployer`` (``engine/locking.py`` underneath) and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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

lock_app = typer.Typer(no_args_is_help=True, help="The environment's lock: who holds it, hold it.")
app.add_typer(lock_app, name="lock")
NoteOpt = Annotated[str | None, typer.Option("--note", "-m", help="Why; recorded.")]


def _say(text: str) -> None:
    from rich.text import Text

    out().print(Text(text), highlight=False)


def _lock_dict(lock: Any) -> dict[str, Any] | None:
    from dataclasses import asdict

    return asdict(lock) if lock is not None else None


@lock_app.command("status")
@reports_errors
def lock_status(
    file: FileOpt = Path(DEFAULT_FILE), env: EnvOpt = None, output: OutputOpt = Output.text
) -> None:
    """Who holds the environment's lock, since when, who waits, and what happened to it."""
    from dataclasses import asdict

    from slipway.deployment import Deployer
    from slipway.engine.locking import describe
    from slipway.view import print_json

    with session(file, env) as s:
        st = Deployer(s.env, store=s.store, backends=s.backends).lock_status()
    if output is Output.json:
        print_json(
            {
                "environment": st.environment,
                "lock": _lock_dict(st.lock),
                "alive": st.alive,
                "expired": st.expired,
                "queue": [asdict(w) for w in st.queue],
                "log": [asdict(e) for e in st.log],
            }
        )
        return
    where = f"{st.app}/{st.environment}"
    if st.lock is None:
        _say(f"{where} is free")
    else:
        state = " — lease expired" if st.expired else ""
        state += " — its runner is gone" if st.alive is False else ""
        _say(f"{where} is locked: {describe(st.lock)}, token {st.lock.token}{state}")
    for w in st.queue:
        _say(f"  waiting: {w.version or '?'} for {w.who or '?'} ({w.holder}) since {w.enqueued_at}")
    for e in st.log:
        who = f" by {e.who}" if e.who else ""
        note = f": {e.note}" if e.note else ""
        _say(f"  {e.at} {e.action} (token {e.token}, {e.holder or '—'}){who}{note}")


@lock_app.command("acquire")
@reports_errors
def lock_acquire(
    note: NoteOpt = None, file: FileOpt = Path(DEFAULT_FILE), env: EnvOpt = None
) -> None:
    """Hold the environment by hand: no deployment starts until `slipway lock release`."""
    from slipway.deployment import Deployer
    from slipway.engine.locking import describe

    with session(file, env) as s:
        held = Deployer(s.env, store=s.store, backends=s.backends).hold_lock(note=note)
    _say(f"{s.env.app}/{s.env.name} locked: {describe(held)}")


@lock_app.command("release")
@reports_errors
def lock_release(
    force: Annotated[
        bool, typer.Option(help="Whoever holds it (a running deployment stops); recorded.")
    ] = False,
    note: NoteOpt = None,
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
) -> None:
    """Release a lock held by hand; with --force -m WHY, any lock."""
    from slipway.deployment import Deployer
    from slipway.engine.locking import describe

    with session(file, env) as s:
        deployer = Deployer(s.env, store=s.store, backends=s.backends)
        held = deployer.release_lock(force=force, reason=note)
    where = f"{s.env.app}/{s.env.name}"
    _say(f"{where} was not locked" if held is None else f"{where} released: was {describe(held)}")
