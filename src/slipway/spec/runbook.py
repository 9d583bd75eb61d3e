"""``runbook:`` and ``go_no_go:``: what the rendered runbook document says beyond the spec,
and the Go/No-Go gate before production is touched.
"""

from __future__ import annotations

from pydantic import Field, model_validator

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
    quorum: int = Field(
        1, ge=1, le=20, description="How many different people must say Go (one No-Go stops it)."
    )
    distinct_from_deployer: bool = Field(
        False,
        description="The person who started the deployment cannot say Go at it (the seeds' "
        '"validated by the Tech Lead"). Names are authenticated through the API\'s tokens; '
        "on the command line a name is a label ($SLIPWAY_USER).",
    )

    @model_validator(mode="after")
    def _enough_approvers(self) -> GoNoGoSpec:
        if self.approvers and self.quorum > len(self.approvers):
            raise ValueError(
                f"quorum {self.quorum} needs at least {self.quorum} approvers; "
                f"{len(self.approvers)} are named"
            )
        return self
