"""``slipway flags``: the environment's feature flags — serve them over OFREP, list them,
set a share, kill one. The flag strategy moves them during a deployment; these commands are
for the people around it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from slipway.cli.base import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    Output,
    OutputOpt,
    app,
    err,
    out,
    reports_errors,
)

if TYPE_CHECKING:
    from slipway.flags import StoreFlags
    from slipway.spec import Environment

flags_app = typer.Typer(
    no_args_is_help=True, help="Feature flags Slipway serves for an environment (OFREP, flagd)."
)
app.add_typer(flags_app, name="flags")

KeyArg = Annotated[str, typer.Argument(help="The flag's key.")]
DEFAULT_LISTEN = "127.0.0.1:18500"


@contextmanager
def _flags(file: Path, env_name: str | None) -> Iterator[tuple[Environment, StoreFlags]]:
    from slipway.flags import StoreFlags
    from slipway.spec import load_spec
    from slipway.store import Store

    env = load_spec(file).environment(env_name)
    store = Store.for_state_dir(env.state_dir.parent)
    try:
        yield env, StoreFlags(env, store)
    finally:
        store.close()


def _check_key(key: str) -> None:
    import re

    from slipway.errors import UsageError
    from slipway.spec.flags import FLAG_KEY

    if not re.fullmatch(FLAG_KEY, key):
        raise UsageError(
            f"{key!r} is not a flag key",
            hint="letters, digits, '.', '_' and '-', up to 64, starting with a letter or digit",
        )


@flags_app.command("serve")
@reports_errors
def serve(
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
    listen: Annotated[
        str | None,
        typer.Option(help=f"host:port (default: flags.listen, else {DEFAULT_LISTEN})."),
    ] = None,
) -> None:
    """Serve the environment's flags over OFREP until interrupted; keep the flagd file."""
    from slipway.errors import UsageError
    from slipway.flags.server import FlagServer, ofrep_app, source_for, token_for
    from slipway.spec.router import Listen, parse_listen

    with _flags(file, env) as (environment, flags):
        spec_listen = environment.flags.listen if environment.flags else None
        try:
            where = Listen.model_validate(parse_listen(listen)) if listen else spec_listen
        except ValueError as exc:
            raise UsageError(f"--listen {listen}: {exc}", hint="e.g. 127.0.0.1:18500") from None
        where = where or Listen.model_validate(parse_listen(DEFAULT_LISTEN))
        token = token_for(environment)
        if not where.loopback and token is None:
            raise UsageError(
                f"{where} is beyond loopback and the server has no token",
                hint="set flags.token_env in the spec, or listen on 127.0.0.1",
            )
        flags.write_file()
        server = FlagServer(
            ofrep_app(source_for(environment, flags.store), token=token),
            host=where.host,
            port=where.port,
        )
        err().print(
            f"serving the flags of {environment.app}/{environment.name} over OFREP at "
            f"{server.url}/ofrep/v1/evaluate/flags",
            markup=False,
        )
        server.run()


@flags_app.command("list")
@reports_errors
def list_flags(
    file: FileOpt = Path(DEFAULT_FILE), env: EnvOpt = None, output: OutputOpt = Output.text
) -> None:
    """The environment's flags: share of users, state, who set them last."""
    from slipway.view import print_json, table

    with _flags(file, env) as (_, flags):
        records = flags.all()
    rows = [
        {
            "key": r.key,
            "weight": r.weight,
            "enabled": r.enabled,
            "on_for": list(r.on_for),
            "revision": r.revision,
            "updated_by": r.updated_by,
            "updated_at": r.updated_at,
        }
        for r in records
    ]
    if output is Output.json:
        print_json({"flags": rows})
        return
    columns = ["key", "weight", "enabled", "on_for", "revision", "updated_by", "updated_at"]
    out().print(table("flags", columns, [[str(r[c]) for c in columns] for r in rows]))


@flags_app.command("set")
@reports_errors
def set_flag(
    key: KeyArg,
    weight: Annotated[
        int | None, typer.Option(min=0, max=100, help="Percent of users with it on.")
    ] = None,
    on_for: Annotated[
        list[str] | None, typer.Option(help="A targeting key that always gets it (repeat).")
    ] = None,
    file: FileOpt = Path(DEFAULT_FILE),
    env: EnvOpt = None,
) -> None:
    """Set a flag's share of users (and who always gets it); created if new."""
    from slipway.engine import control
    from slipway.errors import UsageError

    _check_key(key)
    if weight is None and on_for is None:
        raise UsageError("nothing to set", hint="give --weight N and/or --on-for KEY")
    with _flags(file, env) as (_, flags):
        who = control.actor()
        if weight is not None:
            flag = flags.set_weight(key, weight, by=who)
        if on_for is not None:
            flag = flags.target(key, on_for, by=who)
    always = f", and always for {', '.join(sorted(flag.on_for))}" if flag.on_for else ""
    out().print(f"{key}: on for {flag.weight}% of users{always}", markup=False)


@flags_app.command("kill")
@reports_errors
def kill(key: KeyArg, file: FileOpt = Path(DEFAULT_FILE), env: EnvOpt = None) -> None:
    """Off for everyone now, served as disabled, whatever its share."""
    from slipway.engine import control

    _check_key(key)
    with _flags(file, env) as (_, flags):
        flags.kill(key, by=control.actor())
    out().print(f"{key}: off for everyone (disabled)", markup=False)
