"""``roles:``: the processes of a release that take no traffic — workers, a scheduler.

A release runs as several *roles*. ``web`` is the one the rest of the spec describes
(``process:``, ``instances:``, ``health:``): its instances sit behind the router and every
strategy (rolling, blue-green, canary) moves traffic between them. The roles named here take
no traffic, so they need neither ports nor a router; what they need instead:

- ``count`` processes each (Celery workers: ``count: 4``), every one a program of the target's
  supervisord, named ``<role>-<i>_a`` / ``_b`` (two slots, like a web instance, so a new
  release can start beside the old one; ``Environment.role_slots`` names them);
- a *warm shutdown*: SIGTERM lets running work finish, bounded by ``stop_timeout_s``, then
  SIGKILL (supervisord's ``stopwaitsecs``);
- ``singleton: true`` for a role of which two must never run at once (Celery beat: two would
  send every periodic task twice). Its one process is stopped — and seen gone — before its
  successor starts, in a rollout and in a rollback alike;
- a ``check`` (a command that exits 0, ``{name}`` and ``{version}`` replaced, e.g. ``celery
  inspect ping -d {name}@localhost``) that each new process must pass before the old ones
  stop.

They roll out after web, in the order written here, once web's new instances are healthy and
serving — whatever the strategy — and they roll back with web: a rollback puts web back
first (traffic first), then every role. On a fleet, roles map to inventory groups: ``hosts``
is an Ansible pattern (typically a group, ``workers``) and each host it selects runs ``count``
processes of the role (``<role>-<host>-<i>``); a singleton runs on the first of them only.

The model is shared by every kind of target: a supervisord program here and on SSH hosts, and
whatever a container target makes of a role (one container per process).
"""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from slipway.spec.base import Argv, EnvMap, EnvName, Model, Seconds

#: the role ``process:`` describes: behind the router, moved by the strategy
WEB = "web"
ROLE_NAME = r"^[a-z][a-z0-9]{0,19}$"


class RoleCheckSpec(Model):
    """A command each new process of the role must pass (exit 0) before the old ones stop."""

    command: Argv = Field(
        ..., description="argv, run in the release's directory; `{name}` and `{version}` replaced."
    )
    timeout_s: Seconds = Field(15.0, description="Longest one attempt may take.")
    interval_s: Seconds = Field(1.0, description="Pause between attempts.")
    within_s: Seconds = Field(60.0, description="Give up (the rollout fails) after this long.")
    passes: int = Field(1, ge=1, le=20, description="Consecutive passes needed.")
    failures: int = Field(3, ge=1, le=100, description="Consecutive failures that fail it.")


class RoleSpec(Model):
    """A role without traffic: its processes, how they stop, and how they are checked."""

    command: Argv = Field(
        ...,
        description="argv of each process, in the release's directory; `{name}` (the "
        "process's name, e.g. worker-1_b) and `{version}` are replaced.",
    )
    count: int = Field(1, ge=1, le=64, description="How many processes.")
    singleton: bool = Field(
        False,
        description="Never two at once (a scheduler): the old process is stopped before its "
        "successor starts. Needs count 1.",
    )
    env: EnvMap = Field(default_factory=dict)
    pass_env: list[EnvName] = Field(
        default_factory=list,
        description="Variables of the runner's environment each process (and its check) gets.",
    )
    stop_timeout_s: Seconds = Field(
        30.0, description="Warm shutdown: after SIGTERM, running work may finish this long."
    )
    check: RoleCheckSpec | None = None
    hosts: str | None = Field(
        None,
        description="On a fleet: the hosts (an Ansible pattern, typically an inventory group) "
        "the processes run on; the app's hosts when unset.",
    )

    @model_validator(mode="after")
    def _singleton(self) -> RoleSpec:
        if self.singleton and self.count != 1:
            raise ValueError("a singleton role has exactly one process: `count: 1`")
        return self


def check_roles(roles: dict[str, RoleSpec]) -> dict[str, RoleSpec]:
    """Role names become program names and parts of commands: tame, and never ``web``."""
    for name in roles:
        if name == WEB:
            raise ValueError(
                "`web` is the role `process:` and `instances:` describe; name the others "
                "(worker, beat, …)"
            )
        if not re.fullmatch(ROLE_NAME, name):
            raise ValueError(
                f"role name {name!r}: lowercase letters and digits, starting with a letter, "
                "at most 20"
            )
    return roles
