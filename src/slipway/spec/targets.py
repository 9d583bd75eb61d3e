"""``targets:`` and ``instances:``: where instances run (this machine, its Docker engine or a
fleet) and how many, each with its two slots.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from slipway.spec.base import Model, Name, Port
from slipway.spec.containers import ContainerSettings
from slipway.spec.fleet import SshTargetSpec
from slipway.spec.invalid import Invalid


class LocalTargetSpec(Model):
    type: Literal["local"] = "local"
    name: Name = "local"


DOCKER_HOST = re.compile(r"^(unix:///[^\0\s]+|tcp://[A-Za-z0-9.:\[\]-]+:[0-9]{1,5})$")


class DockerTargetSpec(ContainerSettings):
    """This machine's Docker engine: one container per slot, on the host's network (the
    instance listens on its slot's port, ``PORT``), HAProxy in front as for processes."""

    type: Literal["docker"]
    name: Name = "docker"
    docker_host: str | None = Field(
        None,
        description="The engine: `unix:///path/docker.sock` or `tcp://127.0.0.1:2375`; "
        "$DOCKER_HOST, else /var/run/docker.sock, when unset.",
    )

    @field_validator("docker_host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and not DOCKER_HOST.fullmatch(value):
            raise Invalid(
                f"{value!r} is not a Docker engine address",
                hint="unix:///var/run/docker.sock or tcp://127.0.0.1:2375",
            )
        return value


TargetSpec = Annotated[
    LocalTargetSpec | DockerTargetSpec | SshTargetSpec, Field(discriminator="type")
]


def _local() -> LocalTargetSpec | DockerTargetSpec | SshTargetSpec:
    return LocalTargetSpec()


class InstancesSpec(Model):
    """The instances of the app. Each has two slots (ports), so a new release can start beside
    the old one: slot ``a`` on ``base_port + i`` and slot ``b`` on ``base_port + count + i``."""

    count: int | None = Field(None, ge=1, le=64)
    names: list[Name] | None = Field(None, min_length=1, max_length=64)
    per_host: int | None = Field(
        None, ge=1, le=32, description="On a fleet (ssh target): instances on each host."
    )
    base_port: Port = Field(..., description="First of 2 x count consecutive loopback ports.")

    @field_validator("names")
    @classmethod
    def _unique(cls, names: list[str] | None) -> list[str] | None:
        seen: set[str] = set()
        for name in names or []:
            if name in seen:
                raise ValueError(f"instance name {name!r} appears twice")
            seen.add(name)
        return names

    @model_validator(mode="after")
    def _count(self) -> InstancesSpec:
        if self.per_host is not None:
            if self.count is not None or self.names is not None:
                raise ValueError("`per_host` (a fleet) excludes `count` and `names`")
            if self.base_port + 2 * self.per_host - 1 > 65535:
                raise ValueError("base_port + 2 x per_host goes past port 65535")
            return self
        if self.count is None and self.names is None:
            raise ValueError("give `count` or `names` (or `per_host` on a fleet)")
        if self.count is not None and self.names is not None and self.count != len(self.names):
            raise ValueError(f"count is {self.count} but {len(self.names)} names are given")
        if self.base_port + 2 * len(self.instance_names) - 1 > 65535:
            raise ValueError("base_port + 2 x count goes past port 65535")
        return self

    @property
    def instance_names(self) -> list[str]:
        if self.names is not None:
            return list(self.names)
        return [f"web-{i + 1}" for i in range(self.count or self.per_host or 0)]
