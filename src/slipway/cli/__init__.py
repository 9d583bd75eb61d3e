"""The command line: thin, it parses, asks the library and prints.

Each module registers its commands on the one Typer app (``cli/base.py``) when imported.
"""

from __future__ import annotations

import sys

from slipway.cli import (
    checklist,
    control,
    deploying,
    flagging,
    lock,
    reporting,
    serving,
    setup,
    store,
    tokens,
)
from slipway.cli.base import app, refuse_undecodable_arguments

__all__ = [
    "app",
    "checklist",
    "control",
    "deploying",
    "flagging",
    "lock",
    "main",
    "reporting",
    "serving",
    "setup",
    "store",
    "tokens",
]


def main() -> None:
    from slipway.arenas import limit_malloc_arenas
    from slipway.errors import SpecError, UsageError

    limit_malloc_arenas()  # before any thread: a fleet's deployment runs one per host

    try:
        refuse_undecodable_arguments(sys.argv[1:])
    except UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(exc.exit_code)
    try:
        app()
    except SpecError as exc:  # raised outside a command (should not happen): still no traceback
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(2)
