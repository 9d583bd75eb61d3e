"""Column types that keep secrets out of the store, whichever code writes the row.

Every free-text column (an event's message, a step's error, a check run's
evidence, a notification's error, a rehearsal's output …) is ``Scrubbed``:
the value is passed through the process's ``Scrubber`` (``slipway.redact``) on
its way to SQLite or PostgreSQL. JSON columns are ``ScrubbedJson``: scrubbed
value by value, so the stored text stays valid JSON.

Columns that must read back exactly what was written (a step's ``params``,
which ``slipway resume`` replays; a backup's ``location``, which a restore
opens) stay plain ``Text``: they are plan data from the spec, never output.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

from slipway.redact import SECRETS


class Scrubbed(TypeDecorator[str]):
    """Text with every known secret masked when it is written."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return SECRETS.text(value) if isinstance(value, str) else value


class ScrubbedJson(TypeDecorator[str]):
    """JSON text with every known secret masked in its strings when it is written."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return SECRETS.json_text(value) if isinstance(value, str) else value
