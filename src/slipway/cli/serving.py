"""``slipway serve``: the HTTP API and the dashboard for every environment of the spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slipway.cli.base import DEFAULT_FILE, OPTIONS, FileOpt, app, err, reports_errors


@app.command()
@reports_errors
def serve(
    file: FileOpt = Path(DEFAULT_FILE),
    listen: Annotated[
        str | None,
        typer.Option(help="host:port (default: server.listen, else 127.0.0.1:7400)."),
    ] = None,
) -> None:
    """Serve the HTTP API and the live dashboard until interrupted (tokens: `slipway token`)."""
    from slipway.database.store_url import open_store
    from slipway.errors import UsageError
    from slipway.flags.server import FlagServer
    from slipway.server import Site, make_app
    from slipway.spec import load_spec
    from slipway.spec.server import ServerSpec

    loaded = load_spec(file)
    server = loaded.spec.server
    if listen is not None:
        try:
            server = ServerSpec.model_validate({**server.model_dump(), "listen": listen})
        except ValueError as exc:
            raise UsageError(f"--listen {listen}: {exc}", hint="e.g. 127.0.0.1:7400") from None
    environments = {name: loaded.environment(name) for name in loaded.spec.environments}
    first = next(iter(environments.values()))
    store = open_store(first, url_env=OPTIONS.store_url_env)
    try:
        site = Site(
            app=first.app,
            environments=environments,
            store=store,
            server=server,
            spec_file=file.resolve(),
        )
        tls = (server.tls.cert, server.tls.key) if server.tls else None
        runner = FlagServer(
            make_app(site),
            host=server.listen.host,
            port=server.listen.port,
            name="dashboard",
            tls=tls,
        )
        err().print(f"Slipway for {first.app} on {runner.url}", markup=False, highlight=False)
        runner.run()
    finally:
        store.close()
