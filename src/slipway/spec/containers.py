"""How a release's containers run, wherever the engine is: this machine's (``type: docker``)
or each fleet host's (``type: ssh, runtime: docker``)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from slipway.spec.base import Model
from slipway.spec.invalid import Invalid

# a Docker volume: `NAME:/path`, `./dir:/path` or `/dir:/path`, then `:ro` or `:rw`
VOLUME = re.compile(
    r"^(?P<source>[A-Za-z0-9][A-Za-z0-9_.-]*|\.{0,2}/[^:\0]*):(?P<target>/[^:\0]*)(?::(?P<mode>ro|rw))?$"
)


class ContainerSettings(Model):
    """What every container of the release gets: network, init, restart policy, volumes."""

    network: Literal["host"] = Field(
        "host", description="Containers share the host's network: each listens on its port."
    )
    init: bool = Field(True, description="`--init`: a PID 1 that forwards SIGTERM and reaps.")
    restart: Literal["no", "on-failure", "always", "unless-stopped"] = Field(
        "unless-stopped",
        description="Restart policy; `unless-stopped` brings containers back after dockerd "
        "restarts (run dockerd with --live-restore to keep them running meanwhile).",
    )
    volumes: list[str] = Field(
        default_factory=list,
        description="`NAME:/path`, `./dir:/path` (relative to the spec) or `/dir:/path`, "
        "`:ro` for read-only; the same in every container.",
    )

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, volumes: list[str]) -> list[str]:
        for volume in volumes:
            if not VOLUME.fullmatch(volume):
                raise Invalid(
                    f"{volume!r} is not a volume",
                    hint="NAME:/path, ./dir:/path or /dir:/path, optionally :ro",
                )
        return volumes


class HostDocker(ContainerSettings):
    """A fleet host's Docker engine, driven over the host's SSH connection (its unix socket
    forwarded: nothing listens on the network), one container per slot."""

    socket: str = Field(
        "/var/run/docker.sock",
        pattern=r"^/[A-Za-z0-9._/-]+$",
        description="The engine's socket on each host.",
    )
    volumes: list[str] = Field(
        default_factory=list,
        description="`NAME:/path` or `/dir:/path` on the host, `:ro` for read-only.",
    )

    @field_validator("volumes")
    @classmethod
    def _on_the_host(cls, volumes: list[str]) -> list[str]:
        for volume in volumes:
            if volume.startswith("."):
                raise Invalid(
                    f"{volume!r}: a relative source means nothing on a fleet host",
                    hint="a named volume (NAME:/path) or an absolute path on the host",
                )
        return volumes
