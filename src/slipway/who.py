"""Who is at the keyboard: the name recorded with deployments, overrides and approvals."""

from __future__ import annotations

import getpass
import os


def current_user() -> str:
    """``$SLIPWAY_USER`` (a CI job names the person who pressed the button), else the login."""
    named = os.environ.get("SLIPWAY_USER", "").strip()
    if named:
        return named[:120]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container with a bare uid)
        return f"uid {os.getuid()}"
