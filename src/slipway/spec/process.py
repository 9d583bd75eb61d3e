"""``process:`` and ``health:``: how an instance is started, and when it counts as healthy."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from slipway.spec.base import EnvName, Model, Seconds


class ProcessSpec(Model):
    """How an instance is started, in its release directory."""

    command: list[str] = Field(
        ..., min_length=1, description="argv of the instance; `{port}` is replaced."
    )
    env: dict[str, str] = Field(default_factory=dict)
    pass_env: list[EnvName] = Field(
        default_factory=list,
        description="Variables of the runner's environment each instance gets too (secrets: "
        "DATABASE_URL, SECRET_KEY…), so they never go in this file; masked like url_env.",
    )
    stop_timeout_s: Seconds = Field(10.0, description="Grace after SIGTERM before SIGKILL.")

    @field_validator("env")
    @classmethod
    def _env_names(cls, env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
            if "\0" in value:
                raise ValueError(f"{key}: a NUL character cannot be in an environment variable")
        return env

    @field_validator("command")
    @classmethod
    def _no_nul(cls, command: list[str]) -> list[str]:
        # Any other character (a newline in `sh -c` text, quotes) reaches the program as is.
        if any("\0" in word for word in command):
            raise ValueError("a NUL character cannot be in a command's argument")
        return command


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
    command: list[str] = Field(..., min_length=1, description="argv; `{port}` is replaced.")
    timeout_s: Seconds = 10.0


CheckSpec = Annotated[HttpCheckSpec | TcpCheckSpec | CommandCheckSpec, Field(discriminator="type")]


class HealthSpec(Model):
    """When an instance counts as healthy (thresholds as in HAProxy and Kubernetes probes)."""

    check: CheckSpec = Field(default_factory=lambda: HttpCheckSpec())
    interval_s: Seconds = 0.5
    timeout_s: Seconds = Field(30.0, description="Give up on an instance after this long.")
    healthy_threshold: int = Field(2, ge=1, le=100)
    unhealthy_threshold: int = Field(3, ge=1, le=100)
