"""Who may do what through the HTTP API: roles, the actions each allows, and token secrets.

A token belongs to a person or a CI job (``slipway token create --name tech-lead --role
approver --env production``) and carries one role for the environments it names (``*``: every
environment of the spec). The roles are ordered, each allowing what the one before it does:

=========  ==========================================================================
viewer     read: environments, deployments, events, metrics, the runbook
deployer   + start a deployment, promote, abort, roll back
approver   + approve and reject at a gate (a Go/No-Go, a restore)
admin      everything (nothing more today: the roles above cover every action)
=========  ==========================================================================

One ladder rather than sets of permissions keeps a token's power readable at a glance; a
team that wants the person who deploys never to approve says so on the gate
(``go_no_go.distinct_from_deployer``) rather than in the roles.

A secret is 32 random bytes; the store keeps only its SHA-256. A fast hash is right for a
secret that is random and long (nothing to guess, nothing to precompute), unlike a password,
which needs a slow one. The secret starts with ``slw_`` so that secret scanners and people
recognise it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from slipway.errors import AccessDenied, NotSignedIn

Role = Literal["viewer", "deployer", "approver", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "deployer", "approver", "admin")
Action = Literal["read", "deploy", "promote", "abort", "rollback", "approve", "reject"]
#: the least role that may do each action
LEAST_ROLE: dict[Action, Role] = {
    "read": "viewer",
    "deploy": "deployer",
    "promote": "deployer",
    "abort": "deployer",
    "rollback": "deployer",
    "approve": "approver",
    "reject": "approver",
}
ACTIONS: tuple[Action, ...] = tuple(LEAST_ROLE)
ALL_ENVIRONMENTS = "*"
PREFIX = "slw_"
TOKEN_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def role_allows(role: str, action: Action) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(LEAST_ROLE[action])


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: the token's name (recorded as who acted), its role and the
    environments it covers. A token's secret never comes this far."""

    name: str
    role: Role
    environments: tuple[str, ...]
    expires_at: str | None = None

    def covers(self, environment: str) -> bool:
        return ALL_ENVIRONMENTS in self.environments or environment in self.environments

    def may(self, action: Action, environment: str) -> bool:
        return self.covers(environment) and role_allows(self.role, action)

    def check(self, action: Action, environment: str) -> None:
        """Raise ``AccessDenied`` unless this identity may ``action`` in ``environment``."""
        if not self.covers(environment):
            raise AccessDenied(f"token {self.name!r} does not cover environment {environment!r}")
        if not role_allows(self.role, action):
            raise AccessDenied(
                f"token {self.name!r} is a {self.role}: {action} needs {LEAST_ROLE[action]} "
                "or above"
            )

    def allowed(self, environment: str) -> list[Action]:
        """Every action this identity may take in ``environment`` (what the pages offer)."""
        return [a for a in ACTIONS if self.may(a, environment)]


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def secret_digest(secret: str) -> str:
    """What the store keeps of a secret (a token's, a browser session's)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def derived(secret: str, purpose: str) -> str:
    """A value bound to ``secret`` for one ``purpose`` (a session's CSRF token): recomputed
    from the cookie on each request, so it need not be stored."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def bearer(header: str | None) -> str:
    """The secret of an ``Authorization: Bearer …`` header; ``NotSignedIn`` without one."""
    if not header:
        raise NotSignedIn("no token: send `Authorization: Bearer <token>`")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotSignedIn("the Authorization header must be `Bearer <token>`")
    return value.strip()


def check_name(name: str) -> str:
    from slipway.errors import UsageError

    if not re.fullmatch(TOKEN_NAME, name):
        raise UsageError(
            f"token name {name!r} is not allowed",
            hint="letters, digits, '.', '_' and '-', up to 64 (tech-lead, ci.deploy)",
        )
    return name


def check_environments(wanted: Sequence[str], known: Sequence[str]) -> tuple[str, ...]:
    from slipway.errors import UsageError

    if not wanted:
        raise UsageError("a token needs --env", hint="--env production (or --env '*': every one)")
    for name in wanted:
        if name != ALL_ENVIRONMENTS and name not in known:
            raise UsageError(
                f"no environment {name!r} in the spec",
                hint=f"known environments: {', '.join(known)} (or '*')",
            )
    return tuple(dict.fromkeys(wanted))
