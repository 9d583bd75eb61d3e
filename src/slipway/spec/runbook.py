"""``runbook:`` and ``go_no_go:``: what the rendered runbook document says beyond the spec,
and the Go/No-Go gate before production is touched.
"""

from __future__ import annotations

from pydantic import Field

from slipway.spec.base import LongSeconds as Seconds
from slipway.spec.base import Model


class Dependency(Model):
    name: str = Field(..., min_length=1, max_length=80)
    impact: str | None = None
    contact: str | None = None


class RunbookSpec(Model):
    owner: str | None = Field(None, max_length=80)
    rollback_max_s: Seconds = Field(300.0, description="A rollback must be measured under this.")
    dependencies: list[Dependency] = Field(default_factory=list)
    monitoring: list[str] = Field(default_factory=list, description="Dashboards to open.")


class GoNoGoSpec(Model):
    """A person decides Go or No-Go before the first change to production (the seeds'
    human validation point: the tech lead at Go/No-Go)."""

    approvers: list[str] = Field(
        default_factory=list,
        description="Who may decide (`$SLIPWAY_USER` or the login name); empty: anyone.",
    )
    timeout_s: float | None = Field(
        3600.0, gt=0, le=7 * 86_400, description="No decision by then: No-Go."
    )
