"""``server:``: where ``slipway serve`` (the HTTP API and the dashboard) listens.

Loopback unless the spec says otherwise. Beyond loopback, tokens and session cookies would
cross a network in clear: the server then needs TLS (``tls: {cert, key}``), or the team says
it runs behind its own TLS proxy (``behind_proxy: true``) — a choice written down, not assumed.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from slipway.spec.base import Model
from slipway.spec.router import Listen, ListenAddress, parse_listen

DEFAULT_LISTEN = "127.0.0.1:7400"


class TlsSpec(Model):
    cert: str = Field(..., min_length=1, description="PEM certificate (chain) file.")
    key: str = Field(..., min_length=1, description="PEM private key file.")


class ServerSpec(Model):
    """The HTTP API and dashboard of ``slipway serve``."""

    listen: ListenAddress = Field(
        default_factory=lambda: Listen.model_validate(parse_listen(DEFAULT_LISTEN)),
        description=f"host:port of `slipway serve` (default {DEFAULT_LISTEN}: loopback).",
    )
    tls: TlsSpec | None = Field(None, description="Serve HTTPS with this certificate and key.")
    behind_proxy: bool = Field(
        False, description="A TLS proxy of the team's stands in front: plain HTTP is allowed."
    )
    session_ttl_s: float = Field(
        8 * 3600.0, ge=60, le=30 * 86_400, description="How long a browser stays signed in."
    )
    sign_in_limit: int = Field(
        10, ge=1, le=1000, description="Refused sign-ins or tokens per address in 10 minutes."
    )

    @model_validator(mode="after")
    def _exposed(self) -> ServerSpec:
        if not self.listen.loopback and self.tls is None and not self.behind_proxy:
            raise ValueError(
                f"server.listen {self.listen} is beyond loopback: tokens would travel in "
                "clear. Set `tls: {cert: …, key: …}`, or `behind_proxy: true` if a TLS proxy "
                "stands in front, or listen on 127.0.0.1"
            )
        return self
