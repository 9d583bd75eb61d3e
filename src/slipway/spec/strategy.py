"""``strategy:``: rolling, blue-green, canary or flag, and their steps."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from slipway.spec.analysis import AnalysisSpec, watch_metrics
from slipway.spec.base import Model, Seconds
from slipway.spec.flags import FLAG_KEY

IntOrPercent = Annotated[int | str, Field(union_mode="left_to_right")]


def _int_or_percent(value: int | str, field: str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{field} cannot be negative")
        return value
    if not re.fullmatch(r"(100|[1-9]?[0-9])%", value):
        raise ValueError(f"{field} must be a whole number or a percentage like '25%'")
    return value


class RollingSpec(Model):
    """Replace instances batch by batch; surge and unavailable mean what Kubernetes means."""

    type: Literal["rolling"] = "rolling"
    batch_size: IntOrPercent = Field(1, description="Instances replaced per batch (or '%').")
    max_surge: IntOrPercent = Field(
        1, description="Instances allowed above the desired count during the update (or '%')."
    )
    max_unavailable: IntOrPercent = Field(
        0, description="Instances allowed below the desired count during the update (or '%')."
    )

    @field_validator("batch_size", "max_surge", "max_unavailable")
    @classmethod
    def _check(cls, value: int | str, info: object) -> int | str:
        return _int_or_percent(value, getattr(info, "field_name", "value"))

    @model_validator(mode="after")
    def _not_both_zero(self) -> RollingSpec:
        if self.max_surge in (0, "0%") and self.max_unavailable in (0, "0%"):
            raise ValueError("max_surge and max_unavailable cannot both be 0: nothing could move")
        if self.batch_size in (0, "0%"):
            raise ValueError("batch_size must be at least 1")
        return self

    def describe(self) -> str:
        """One line for the runbook document."""
        return (
            f"rolling: batch {self.batch_size}, max surge {self.max_surge}, "
            f"max unavailable {self.max_unavailable}"
        )


class PauseSpec(Model):
    duration_s: Seconds | None = Field(
        None, description="Wait this long; without it, wait for `slipway promote`."
    )
    timeout_s: Seconds | None = Field(
        None, description="Waiting for promote: abort after this long."
    )


class HeaderRouteSpec(Model):
    """Requests carrying this header (or cookie) with this value go to the canary, whatever
    the weights (Argo's ``setHeaderRoute``): testers reach it on purpose."""

    name: str = Field(
        ..., pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The header's (or cookie's) name."
    )
    value: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._~+-]{1,128}$",
        description="The value that routes to the canary; without it, the route is removed.",
    )
    match: Literal["header", "cookie"] = Field("header", description="A header or a cookie.")

    def describe(self) -> str:
        said = f"{self.match} {self.name}"
        return f"{said}: {self.value} → canary" if self.value is not None else f"{said} unrouted"


class CanaryStep(Model):
    """Exactly one of: ``set_weight``, ``set_header_route``, ``pause``, ``analysis``."""

    set_weight: int | None = Field(None, ge=0, le=100, description="Canary traffic, percent.")
    set_header_route: HeaderRouteSpec | None = None
    pause: PauseSpec | None = None
    analysis: AnalysisSpec | None = None

    @model_validator(mode="after")
    def _one(self) -> CanaryStep:
        kinds = ("set_weight", "set_header_route", "pause", "analysis")
        given = [k for k in kinds if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "each canary step has exactly one of set_weight, set_header_route, pause, analysis"
            )
        return self


def default_canary_steps() -> list[CanaryStep]:
    return [
        CanaryStep(set_weight=10),
        CanaryStep(pause=PauseSpec(duration_s=60)),
        CanaryStep(set_weight=50),
        CanaryStep(pause=PauseSpec(duration_s=60)),
    ]


class CanaryScale(Model):
    """How many instances run the canary (Argo's ``setCanaryScale``); exactly one field."""

    replicas: int | None = Field(None, ge=1, le=10_000, description="This many instances.")
    percent: int | None = Field(None, ge=1, le=100, description="This share of the instances.")
    match_traffic_weight: bool = Field(
        False, description="As many instances as the weight's share (at least one), growing."
    )

    @model_validator(mode="after")
    def _one(self) -> CanaryScale:
        given = [self.replicas is not None, self.percent is not None, self.match_traffic_weight]
        if sum(given) != 1:
            raise ValueError("give exactly one of replicas, percent, match_traffic_weight")
        return self

    def count(self, instances: int, weight: int) -> int:
        """Canary instances at ``weight`` percent of traffic, of ``instances`` in all."""
        if self.replicas is not None:
            wanted = self.replicas
        elif self.percent is not None:
            wanted = -(-self.percent * instances // 100)
        else:
            wanted = -(-weight * instances // 100)
        return max(1, min(instances, wanted))


def default_watch() -> AnalysisSpec:
    return AnalysisSpec(interval_s=60, metrics=watch_metrics())


class PostPromotionSpec(Model):
    """Watching after promotion (Argo's ``postPromotionAnalysis``): all traffic is on the new
    release, the previous one is kept ready, and the same metrics are compared with what the
    previous release measured before the deploy; a failure rolls back automatically."""

    duration_s: Seconds = Field(1800.0, description="How long the watch lasts after promotion.")
    baseline_s: Seconds = Field(
        60.0,
        description="How long the previous release is measured, before anything moves, for the "
        "watch's baseline (HAProxy and probe metrics; PromQL is asked at that time later).",
    )
    analysis: AnalysisSpec = Field(
        default_factory=default_watch,
        description="What the watch measures (default: the seeds' rollback triggers, error rate "
        "> 5 % for 5 minutes and p95 > 2 x baseline for 10 minutes, every minute).",
    )

    def describe(self) -> str:
        return f", watched {self.duration_s:g}s after promotion"


WATCH_FIELD = Field(
    None,
    description="After all traffic is on the new release: keep the previous one ready and "
    "watch it against the pre-deploy baseline for a while; a failure rolls back.",
)


def describe_steps(steps: list[CanaryStep], analysis: AnalysisSpec | None) -> str:
    """``10% → pause 60s → 50%, threshold analysis``: a canary's or a flag's steps in a line."""
    said = []
    for step in steps:
        if step.set_weight is not None:
            said.append(f"{step.set_weight}%")
        elif step.set_header_route is not None:
            said.append(step.set_header_route.describe())
        elif step.pause is not None:
            wait = step.pause.duration_s
            said.append(f"pause {wait:g}s" if wait else "`slipway promote`")
        else:
            said.append("analysis")
    judge = f", {analysis.judge} analysis" if analysis else ""
    return f"{' → '.join(said)}{judge}"


class CanarySpec(Model):
    """Send a share of traffic to the new release, step by step, while analysis watches."""

    type: Literal["canary"]
    steps: list[CanaryStep] = Field(default_factory=default_canary_steps, min_length=1)
    scale: CanaryScale | None = Field(
        None,
        description="Run the canary on some instances only (by default: beside every one); "
        "per-slot weights then give the canary its share of the traffic.",
    )
    analysis: AnalysisSpec | None = Field(
        default_factory=lambda: AnalysisSpec(),
        description="Background analysis: runs from the first weight until promotion.",
    )
    post_promotion: PostPromotionSpec | None = WATCH_FIELD

    @model_validator(mode="after")
    def _weights(self) -> CanarySpec:
        if not any(s.set_weight is not None or s.set_header_route for s in self.steps):
            raise ValueError("a canary needs at least one `set_weight` or `set_header_route`")
        return self

    def header_routes(self) -> list[tuple[str, str]]:
        """(match, name) of each route the steps set: what the router's config declares."""
        found = [
            (s.set_header_route.match, s.set_header_route.name.lower())
            for s in self.steps
            if s.set_header_route
        ]
        return sorted(set(found))

    def describe(self) -> str:
        """One line for the runbook document."""
        watch = self.post_promotion.describe() if self.post_promotion else ""
        return f"canary: {describe_steps(self.steps, self.analysis)}{watch}"


class SmokeSpec(Model):
    """A request to each new instance before it takes user traffic."""

    path: str = Field("/", pattern=r"^/[A-Za-z0-9._~/%?=&-]*$")
    expect_status: int = Field(200, ge=100, le=599)
    expect_body: str | None = None
    timeout_s: Seconds = 2.0


class BlueGreenSpec(Model):
    """Start the whole new set beside the live one, verify it, switch all traffic at once."""

    type: Literal["blue-green"]
    smoke: list[SmokeSpec] = Field(default_factory=list)
    analysis: AnalysisSpec | None = Field(
        None,
        description="Pre-switch analysis of the new set with synthetic (probe) requests.",
    )
    auto_promote: bool = Field(True, description="false: wait for `slipway promote` to switch.")
    scale_down_delay_s: float = Field(
        30.0,
        ge=0,
        le=86_400,
        description="The old set stays up (and `slipway rollback` is a traffic switch) "
        "this long after the switch.",
    )
    post_promotion: PostPromotionSpec | None = WATCH_FIELD

    @model_validator(mode="after")
    def _probe_only(self) -> BlueGreenSpec:
        if self.analysis is not None:
            for metric in self.analysis.metrics:
                if metric.provider == "haproxy":
                    raise ValueError(
                        f"metric {metric.name!r}: before the switch the new set takes no user "
                        "traffic, so HAProxy has nothing to measure; use `provider: probe`"
                    )
        return self

    def describe(self) -> str:
        """One line for the runbook document."""
        promote = "auto" if self.auto_promote else "`slipway promote`"
        watch = self.post_promotion.describe() if self.post_promotion else ""
        return (
            f"blue-green: switch {promote}, previous set kept "
            f"{self.scale_down_delay_s:g}s for `slipway rollback`{watch}"
        )


def default_flag_steps() -> list[CanaryStep]:
    return [
        CanaryStep(set_weight=1),
        CanaryStep(pause=PauseSpec(duration_s=60)),
        CanaryStep(set_weight=10),
        CanaryStep(pause=PauseSpec(duration_s=60)),
        CanaryStep(set_weight=50),
        CanaryStep(pause=PauseSpec(duration_s=60)),
    ]


class FlagSpec(Model):
    """Ship the release's code dark (the flag at 0 %), then grow the flag's share of users
    step by step while analysis compares users with the flag on against users with it off."""

    type: Literal["flag"]
    flag: str = Field(..., pattern=FLAG_KEY, description="The flag's key, as the app asks it.")
    rollout: RollingSpec = Field(
        default_factory=lambda: RollingSpec(),
        description="How the release's code goes out, dark, before the flag's share grows.",
    )
    steps: list[CanaryStep] = Field(default_factory=default_flag_steps, min_length=1)
    analysis: AnalysisSpec | None = Field(
        default_factory=lambda: AnalysisSpec(),
        description="Background analysis, flag on against flag off: from the first weight "
        "until the flag is on for everyone.",
    )
    verify_keys: int = Field(
        1000,
        ge=50,
        le=100_000,
        description="Synthetic targeting keys evaluated through the flag server after each "
        "weight change: the share served must be the share set, and sticky.",
    )
    post_promotion: PostPromotionSpec | None = WATCH_FIELD

    @model_validator(mode="after")
    def _weights(self) -> FlagSpec:
        if not any(s.set_weight is not None for s in self.steps):
            raise ValueError("a flag rollout needs at least one `set_weight` step")
        if any(s.set_header_route for s in self.steps):
            raise ValueError(
                "`set_header_route` routes to canary instances: a flag rollout has none "
                "(its flag decides per user)"
            )
        return self

    def describe(self) -> str:
        """One line for the runbook document."""
        watch = self.post_promotion.describe() if self.post_promotion else ""
        return f"flag `{self.flag}`: {describe_steps(self.steps, self.analysis)}{watch}"


StrategySpec = Annotated[
    RollingSpec | BlueGreenSpec | CanarySpec | FlagSpec, Field(discriminator="type")
]


def header_routes(
    strategy: RollingSpec | BlueGreenSpec | CanarySpec | FlagSpec,
) -> list[tuple[str, str]]:
    """The header and cookie routes a strategy may set (only a canary's steps do)."""
    return strategy.header_routes() if isinstance(strategy, CanarySpec) else []
