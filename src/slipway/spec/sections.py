"""The runbook's sections an environment may override (checks, window, database,
notifications, contacts, runbook, go_no_go), and how they merge with the spec's.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from slipway.spec.base import Model
from slipway.spec.checks import PreflightSpec, preflight_name
from slipway.spec.database import DatabaseSpec
from slipway.spec.media import MediaSpec
from slipway.spec.notify import ContactLevel, NotificationSpec
from slipway.spec.runbook import GoNoGoSpec, RunbookSpec
from slipway.spec.window import WindowSpec


class RunbookSections(Model):
    """The sections an environment may override (all optional there)."""

    go_no_go: GoNoGoSpec | None = Field(
        None, description="Wait for `slipway approve` (Go) or `slipway reject` (No-Go)."
    )

    checks: list[PreflightSpec] | None = None
    window: WindowSpec | None = None
    database: DatabaseSpec | None = None
    media: MediaSpec | None = None
    notifications: list[NotificationSpec] | None = None
    contacts: list[ContactLevel] | None = None
    runbook: RunbookSpec | None = None


def merge_checks(
    base: list[PreflightSpec] | None, override: list[PreflightSpec] | None
) -> list[PreflightSpec]:
    """The base's checks, each replaced by the environment's of the same name, plus new ones;
    a check with ``enabled: false`` is removed."""
    merged: dict[str, PreflightSpec] = {}
    for check in [*(base or []), *(override or [])]:
        merged[preflight_name(check)] = check
    return [c for c in merged.values() if c.enabled]


def resolve_sections(base: RunbookSections, env: RunbookSections) -> dict[str, Any]:
    """The runbook fields of an ``Environment``: the environment's sections over the base's."""
    return {
        "checks": merge_checks(base.checks, env.checks),
        "window": env.window or base.window,
        "database": env.database or base.database,
        "media": env.media or base.media,
        "notifications": list(env.notifications or base.notifications or []),
        "contacts": list(env.contacts or base.contacts or []),
        "runbook": env.runbook or base.runbook or RunbookSpec(),
        "go_no_go": env.go_no_go or base.go_no_go,
    }
