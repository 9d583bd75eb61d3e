"""Who is at the keyboard: the name recorded with deployments, overrides and approvals.

On the command line this is a *label*, not an authenticated identity: ``$SLIPWAY_USER`` (a CI
job names the person who pressed the button) or the login name. Anyone who can run ``slipway``
on the runner's store can claim any name, so the OS user is recorded beside a claimed one, and
gates say so when they ask. Authenticated approvals come with the HTTP API's tokens.
"""

from __future__ import annotations

import getpass
import os
import socket

NAME_VARIABLE = "SLIPWAY_USER"
LABEL_NOTE = (
    "the CLI's name ($SLIPWAY_USER, else the login) is a label, not an authenticated identity"
)


def login() -> str:
    """The OS user running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container with a bare uid)
        return f"uid {os.getuid()}"


def current_user() -> str:
    """``$SLIPWAY_USER`` (a CI job names the person who pressed the button), else the login."""
    named = os.environ.get(NAME_VARIABLE, "").strip()
    return named[:120] if named else login()


def os_user_if_claimed() -> str | None:
    """The OS user, when the name in use is claimed through ``$SLIPWAY_USER`` (else None)."""
    user = login()
    return user if current_user() != user else None


def machine() -> str:
    """The machine this runs on: recorded beside a name, since anyone may claim any name."""
    return socket.gethostname()
