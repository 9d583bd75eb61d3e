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
    from_compose: Annotated[
        Path | None,
        typer.Option(
            "--from-compose",
            help="Make it from a Compose file: its web service as containers, the rest listed.",
        ),
    ] = None,
) -> None:
    """Write a commented slipway.yaml to start from (or one made from a Compose file)."""
    import os
    import re

    from slipway.errors import UsageError
    from slipway.spec.base import NAME_PATTERN
    from slipway.spec.template import render

    if not re.fullmatch(NAME_PATTERN, app_name):
        raise UsageError(f"invalid app name {app_name!r}", hint="lowercase letters, digits, '-'")
    if os.path.lexists(file) and not force:  # False for a name the system refuses
        raise UsageError(f"{file} already exists", hint="use --force to overwrite it")
    if from_compose is not None:
        if preset is not None:
            raise UsageError("--preset and --from-compose do not go together", hint="choose one")
        _init_from_compose(file, from_compose, app_name)
        return
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


def _init_from_compose(file: Path, compose: Path, app_name: str) -> None:
    """The spec made from ``compose``, checked like any spec before it is written; what could
    not be carried over is printed too."""
    import os
    import tempfile

    from slipway.errors import SpecError, UsageError
    from slipway.spec import load_spec
    from slipway.spec.compose import from_compose

    directory = file.resolve().parent
    imported = from_compose(compose, app=app_name, spec_dir=directory)
    text = imported.text(str(compose))
    fd, candidate = tempfile.mkstemp(prefix=".slipway-", suffix=".yaml", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        load_spec(Path(candidate))
    except SpecError as exc:
        raise UsageError(
            f"the spec made from {compose} is not valid: {exc.message}",
            hint="fix the Compose file's value it names, or write slipway.yaml by hand",
        ) from None
    finally:
        os.unlink(candidate)
    write_text(file, text, option="--file")
    out().print(f"wrote {file} from {compose}: service {imported.web} as web", markup=False)
    for item in imported.unmapped:
        out().print(f"  not carried over: {item}", markup=False)


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
