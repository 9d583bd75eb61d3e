"""``process:`` and ``health:``: how an instance is started, and when it counts as healthy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from slipway.spec.base import Argv, EnvMap, EnvName, Model, Seconds


class ProcessSpec(Model):
    """How an instance is started, in its release directory."""

    command: Argv = Field(..., description="argv of the instance; `{port}` is replaced.")
    env: EnvMap = Field(default_factory=dict)
    pass_env: list[EnvName] = Field(
        default_factory=list,
        description="Variables of the runner's environment each instance gets too (secrets: "
        "DATABASE_URL, SECRET_KEY…), so they never go in this file; masked like url_env.",
    )
    stop_timeout_s: Seconds = Field(10.0, description="Grace after SIGTERM before SIGKILL.")


class HttpCheckSpec(Model):
    type: Literal["http"] = "http"
    path: str = Field("/health", pattern=r"^/[A-Za-z0-9._~/%?=&-]*$")
    expect_status: int = Field(200, ge=100, le=599)
    expect_body: str | None = None
    timeout_s: Seconds = 2.0


class TcpCheckSpec(Model):
    type: Literal["tcp"]
    timeout_s: Seconds = 2.0


class CommandCheckSpec(Model):
    type: Literal["command"]
    command: Argv = Field(..., description="argv; `{port}` is replaced.")
    timeout_s: Seconds = 10.0


CheckSpec = Annotated[HttpCheckSpec | TcpCheckSpec | CommandCheckSpec, Field(discriminator="type")]


class HealthSpec(Model):
    """When an instance counts as healthy (thresholds as in HAProxy and Kubernetes probes)."""

    check: CheckSpec = Field(default_factory=lambda: HttpCheckSpec())
    interval_s: Seconds = 0.5
    timeout_s: Seconds = Field(30.0, description="Give up on an instance after this long.")
    healthy_threshold: int = Field(2, ge=1, le=100)
    unhealthy_threshold: int = Field(3, ge=1, le=100)
