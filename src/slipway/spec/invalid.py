"""``Invalid``: what a pydantic validator raises to give its error a hint as well as a message.

Pydantic keeps the ``ValueError`` a validator raised (``ctx["error"]``); the loader turns it
into a ``SpecError`` at the value's line and column, and reads the hint from there.
"""

from __future__ import annotations


class Invalid(ValueError):
    """A value a validator refuses: ``message`` says what is wrong, ``hint`` how to fix it."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.hint = hint
