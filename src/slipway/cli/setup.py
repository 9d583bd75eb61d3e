"""``init``, ``validate``, ``schema`` and ``demo``: starting with Slipway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slipway.cli.base import (
    DEFAULT_FILE,
    FileOpt,
    Output,
    OutputOpt,
    app,
    err,
    out,
    reports_errors,
    write_text,
)


@app.command()
@reports_errors
def init(
    file: FileOpt = Path(DEFAULT_FILE),
    app_name: Annotated[str, typer.Option("--app", help="Name of the app.")] = "myapp",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    preset: Annotated[
        str | None, typer.Option(help="A spec for a kind of project: django (needs manage.py).")
    ] = None,
) -> None:
    """Write a commented slipway.yaml to start from."""
    import os
    import re

    from slipway.errors import UsageError
    from slipway.spec.base import NAME_PATTERN
    from slipway.spec.template import render

    if not re.fullmatch(NAME_PATTERN, app_name):
        raise UsageError(f"invalid app name {app_name!r}", hint="lowercase letters, digits, '-'")
    if os.path.lexists(file) and not force:  # False for a name the system refuses
        raise UsageError(f"{file} already exists", hint="use --force to overwrite it")
    here = Path(file).parent
    if preset == "django":
        from slipway.presets.django import render as render_django

        text = render_django(app_name, here)
    elif preset is not None:
        raise UsageError(f"unknown preset {preset!r}", hint="known presets: django")
    else:
        text = render(app_name)
    write_text(file, text, option="--file")
    out().print(f"wrote {file}: edit it, then run `slipway validate`", markup=False)
    if preset is None and (here / "manage.py").is_file():
        out().print(
            "manage.py is here: `slipway init --preset django --force` writes the Django "
            "runbook (gunicorn, Celery workers and beat, migrations, checks)",
            markup=False,
        )


@app.command()
@reports_errors
def validate(file: FileOpt = Path(DEFAULT_FILE), output: OutputOpt = Output.text) -> None:
    """Check the spec and the inventories it names (never connecting); say what is wrong, where."""
    from slipway.spec import load_spec
    from slipway.view import print_json

    loaded = load_spec(file)
    envs = list(loaded.spec.environments)
    fleets: dict[str, dict[str, list[str]]] = {}
    for name in envs:  # resolving an environment reads its inventory: hosts, groups, variables
        resolved = loaded.environment(name).fleet
        if resolved is not None:
            fleets[name] = {"hosts": list(resolved.hosts), "app_hosts": resolved.app_hosts}
    if output is Output.json:
        print_json({"valid": True, "app": loaded.spec.app, "environments": envs, "fleets": fleets})
        return
    out().print(
        f"✓ {file} is valid: app {loaded.spec.app}, environments {', '.join(envs)}",
        markup=False,
        style="green",
    )
    for name, hosts in fleets.items():
        out().print(
            f"  {name}: {len(hosts['hosts'])} hosts, the app on {len(hosts['app_hosts'])}: "
            f"{', '.join(hosts['app_hosts'])}",
            markup=False,
            highlight=False,
        )


@app.command()
def schema() -> None:
    """Print the JSON Schema of slipway.yaml (for editors)."""
    from slipway.spec.environment import Spec
    from slipway.view import print_json

    print_json(Spec.model_json_schema())


@app.command()
@reports_errors
def demo(
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Spec of the sample app.")
    ] = None,
    output: OutputOpt = Output.text,
) -> None:
    """Run the whole story on this machine: deploy, roll under load, reject a bad release."""
    from slipway.demo.story import run_demo
    from slipway.view import print_json, table

    result = run_demo(file, console=err() if output is Output.json else out())
    if output is Output.json:
        print_json(result)
        return
    keys = ["version", "strategy", "outcome"]
    timed = ["duration_s", "requests", "failed_requests", "decision_s", "rollback_s"]
    rows = [
        [*(p[k] for k in keys), *(_seconds(p[k]) if k.endswith("_s") else p[k] for k in timed)]
        for p in result["phases"]
    ]
    # short headers: eight columns fit an 80-column CI log whole
    columns = ["version", "strategy", "outcome", "secs", "reqs", "failed", "decide s", "back s"]
    out().print(table("demo", columns, rows))


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"
