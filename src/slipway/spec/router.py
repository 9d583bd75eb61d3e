"""``router:``: HAProxy, where it listens, its admin API and its drain timeout."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from slipway.spec.base import EnvName, Model, Port, Seconds


class Listen(Model):
    host: str
    port: Port

    @property
    def loopback(self) -> bool:
        return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(value: object) -> object:
    """``"127.0.0.1:8080"`` → ``{"host": ..., "port": ...}``; other shapes are left to pydantic."""
    if isinstance(value, str):
        host, sep, port = value.rpartition(":")
        if not sep or not re.fullmatch(r"[0-9]{1,5}", port):
            raise ValueError("listen must look like 127.0.0.1:8080")
        return {"host": host.removeprefix("[").removesuffix("]"), "port": int(port)}
    return value


def _ip(host: str, *, named: bool) -> str:
    """An IP address written as HAProxy and the kernel take it (``localhost`` if ``named``).

    A ``%`` zone (``fe80::1%eth0``), which Python accepts, is refused: it names an interface,
    not an address, and reaches the config as it is written.
    """
    if named and host == "localhost":
        return host
    if "%" in host:
        raise ValueError(f"{host!r}: a scoped address (with '%') cannot be used here")
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise ValueError(f"{host!r} is not an IP address") from exc
    return host


def _named_listen(listen: Listen) -> Listen:
    _ip(listen.host, named=True)
    return listen


#: ``"127.0.0.1:8080"`` or ``{host, port}``, its host an IP address or ``localhost``
ListenAddress = Annotated[Listen, BeforeValidator(parse_listen), AfterValidator(_named_listen)]


class MaintenanceSpec(Model):
    """A page the router answers instead of the app (503 and ``Retry-After``), switched at
    runtime — ``slipway maintenance on|off``, or around a migration that blocks writes."""

    page: str | None = Field(None, description="An HTML file, relative to the spec.")
    retry_after_s: int = Field(120, ge=1, le=86_400)
    bypass_header: str = Field(
        "X-Slipway-Bypass",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="A request with this header set to the token reaches the app anyway.",
    )
    bypass_token_env: EnvName | None = Field(
        None, description="The variable holding that token (never written here)."
    )


class _RouterSpec(Model):
    """What every router's section has; each kind refuses what it cannot do."""

    listen: ListenAddress
    maintenance: MaintenanceSpec | None = None
    metrics_port: Port | None = Field(
        None, description="Loopback port of HAProxy's Prometheus exporter."
    )
    drain_timeout_s: Seconds = Field(30.0, description="Longest wait for in-flight requests.")
    host: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$",
        description="Fleet host HAProxy runs on (driven over SSH); this machine when unset.",
    )
    admin: Listen | None = Field(
        None,
        description="TCP address (IP and port) of HAProxy's admin socket, reached directly "
        "instead of over SSH. Loopback only, unless `expose_admin: true`.",
    )
    expose_admin: bool = Field(
        False,
        description="Let `admin` listen beyond loopback. Its API has no authentication: anyone "
        "who reaches that address can take servers out of rotation.",
    )

    @field_validator("admin", mode="before")
    @classmethod
    def _admin(cls, value: object) -> object:
        return parse_listen(value)

    @field_validator("admin")
    @classmethod
    def _admin_address(cls, admin: Listen | None) -> Listen | None:
        if admin is not None:
            _ip(admin.host, named=False)
        return admin

    @model_validator(mode="after")
    def _exposed(self) -> _RouterSpec:
        if self.admin is not None and not self.admin.loopback and not self.expose_admin:
            raise ValueError(
                f"admin {self.admin} is beyond loopback: HAProxy's admin API has no "
                "authentication. Use a loopback address, or say `expose_admin: true` on a "
                "network only Slipway's runners reach"
            )
        return self

    def exposed(self) -> list[str]:
        """What the router listens on beyond loopback, said plainly (``slipway plan``)."""
        found = []
        if not self.listen.loopback:
            found.append(f"{self.listen}: the app, through {self._name}")
        if self.admin is not None and not self.admin.loopback:
            found.append(f"{self.admin}: HAProxy's admin API, without authentication")
        return found

    _name = "HAProxy"


class HAProxySpec(_RouterSpec):
    type: Literal["haproxy"] = "haproxy"


class NginxSpec(_RouterSpec):
    """nginx as the router (open-source nginx, on this machine): its upstream is rendered and
    reloaded gracefully (``nginx -t``, then ``nginx -s reload``) at every change, since it has
    no runtime API; no active health checks, no per-request log for analysis, no maintenance
    page switch, no fleet LB host: use HAProxy for those."""

    type: Literal["nginx"]
    _name = "nginx"

    @model_validator(mode="after")
    def _can_do(self) -> NginxSpec:
        refused = [
            name
            for name, value in (
                ("host", self.host),
                ("admin", self.admin),
                ("metrics_port", self.metrics_port),
                ("maintenance", self.maintenance),
            )
            if value is not None
        ]
        if refused:
            raise ValueError(
                f"nginx cannot do {', '.join(refused)} here (no runtime API, no exporter, "
                "this machine only): use `type: haproxy`"
            )
        return self


RouterSpec = Annotated[HAProxySpec | NginxSpec, Field(discriminator="type")]
