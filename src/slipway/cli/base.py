"""What every command shares: the Typer app, the consoles, the common options, the session.

Nothing here decides anything. Every ``SlipwayError`` becomes a message and its exit code
(DESIGN.md: 0 succeeded, 1 failed, 2 invalid spec or usage, 3 rolled back, 4 not started);
anything else is a bug and keeps its traceback.

Start-up is paid by every command, ``--help`` included, so this module and the command modules
import only Typer at the top; the library (spec, store, engine, Rich) is imported inside the
commands that use it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from slipway.backends import Backends
    from slipway.spec import Environment
    from slipway.store import Store

DEFAULT_FILE = "slipway.yaml"  # slipway.spec.DEFAULT_FILE, without importing the spec

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Slipway runs your deployment runbook: checks, rollout, analysis, rollback, records.",
)


@dataclass
class _Options:
    """Options given before the command (``slipway --store-url-env VAR deploy …``)."""

    store_url_env: str | None = None


OPTIONS = _Options()


@app.callback()
def _global_options(
    store_url_env: Annotated[
        str | None,
        typer.Option(
            "--store-url-env",
            metavar="VAR",
            help="Variable holding the team store's PostgreSQL URL (default: the spec's "
            "store.url_env, else $SLIPWAY_STORE_URL when set, else SQLite in the state dir).",
        ),
    ] = None,
) -> None:
    OPTIONS.store_url_env = store_url_env


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


# Every line goes through view.py's rules: data is escaped (`safe`) or plain `Text`, never
# markup, and SafeConsole masks every known secret (slipway.redact).
@functools.cache
def out() -> Console:
    """Standard output, for results."""
    from slipway.view import SafeConsole

    return SafeConsole()


@functools.cache
def err() -> Console:
    """Standard error, for progress and errors; never breaks a path in a message."""
    from slipway.view import SafeConsole

    return SafeConsole(stderr=True, soft_wrap=True)


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn Slipway's errors into a message and the exit code of their kind."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from slipway.errors import SlipwayError

        try:
            _refuse_undecodable_values(kwargs)
            return func(*args, **kwargs)
        except SlipwayError as exc:
            from slipway.view import safe

            err().print(f"[red bold]error:[/] {safe(exc)}", highlight=False)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def write_text(path: Path, text: str, *, option: str) -> None:
    """Write a file the user named with ``option``; a path that cannot be written is theirs
    to fix (a directory, a missing parent, no permission), not a traceback."""
    from slipway.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"{option} {path}: cannot write it ({exc.strerror or exc})",
            hint=f"give {option} the path of a file in a directory you can write to",
        ) from None


_WHAT = {"env": "environment", "file": "spec file", "to": "release", "override_window": "reason"}


def _refuse_undecodable_values(values: dict[str, object]) -> None:
    """The same for a command's values when it is called in-process (a test, a wrapper):
    the option is named."""
    from slipway.errors import UsageError

    for name, value in values.items():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            try:
                str(item).encode("utf-8")
            except UnicodeEncodeError:
                what = _WHAT.get(name, name.replace("_", " "))
                raise UsageError(
                    f"the {what} (--{name.replace('_', '-')}) is not valid UTF-8",
                    hint="Slipway's arguments (versions, ids, names, paths) must be UTF-8 text",
                ) from None


def parse_duration(text: str, option: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h`` → seconds; anything else is a usage error."""
    from slipway.errors import UsageError

    units = {"s": 1, "m": 60, "h": 3600}
    value = text.strip().lower()
    number, unit = (value[:-1], value[-1]) if value[-1:] in units else (value, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 7 * 86400:
        raise UsageError(
            f"{option} {text!r} is not a duration", hint="write 90s, 15m or 1h (at most 7 days)"
        )
    return seconds


def refuse_undecodable_arguments(argv: Sequence[str]) -> None:
    """An argument holding bytes that are not UTF-8 (Python keeps them as surrogates) could be
    neither stored nor printed: say which one, before any command runs."""
    from slipway.errors import UsageError

    for i, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise UsageError(
                f"argument {i} ({shown!r}) is not valid UTF-8",
                hint="Slipway's arguments (versions, ids, names, paths) must be UTF-8 text",
            ) from None


@dataclass
class Session:
    env: Environment
    store: Store
    backends: Backends


@contextmanager
def session(file: Path, env_name: str | None, limit: str | None = None) -> Iterator[Session]:
    """The environment of ``file``, its store and its backends; closed on the way out."""
    from slipway.backends import Backends
    from slipway.clock import SystemClock
    from slipway.database.store_url import open_store
    from slipway.spec import load_spec

    env = load_spec(file).environment(env_name, limit=limit)
    store = open_store(env, url_env=OPTIONS.store_url_env)
    backends: Backends | None = None
    try:
        backends = Backends.for_environment(env, clock=SystemClock())
        yield Session(env, store, backends)
    finally:
        if backends is not None:
            backends.close()
        store.close()
