"""The ``Router`` interface: what sends traffic to instances.

Servers are fixed *slots* (``s1`` … ``sN``, each with a port); an instance is
put in a slot by the target, then the router is told to send it traffic
(``enable``), to let its in-flight requests finish (``drain``) or to leave it
alone (``disable``). Methods are idempotent for the same reason as targets'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

AdminState = Literal["ready", "drain", "maint"]


@dataclass(frozen=True)
class ServerState:
    slot: str
    address: str
    port: int
    admin: AdminState
    operational: str  # "UP", "DOWN", "MAINT", … as the router reports it
    weight: int
    sessions: int  # current connections to this server


class Router(Protocol):
    def ensure_up(self) -> None:
        """Start the router if it is not running, with its slots and their saved state."""

    def servers(self) -> list[ServerState]: ...

    def enable(self, slot: str, *, weight: int = 100) -> None:
        """Send the slot traffic."""

    def set_weight(self, slot: str, weight: int) -> None: ...

    def standby(self, slot: str) -> None:
        """Checked and ready to take traffic at once, but taking no new requests."""

    def switch(self, *, ready: Mapping[str, int], drain: Sequence[str]) -> None:
        """In one router operation: ``ready`` slots take traffic with these weights, ``drain``
        slots take no new requests. Blue-green switches and canary weights are this."""

    def drain(self, slot: str, *, timeout_s: float) -> bool:
        """Stop new traffic to the slot and wait (bounded) for its sessions to end.

        Returns whether it drained before the timeout. Ends in maintenance either way.
        """

    def disable(self, slot: str) -> None:
        """No traffic at all (maintenance)."""

    def down(self) -> None:
        """Stop the router if Slipway started it."""


@runtime_checkable
class MaintenanceRouter(Protocol):
    """A router that can answer a maintenance page instead of the app, switched at runtime
    (no reload, no connection dropped); testers with the bypass header get through."""

    def set_maintenance(self, on: bool) -> None:
        """Idempotent; effective for the next request."""

    def in_maintenance(self) -> bool: ...


@runtime_checkable
class HeaderRouter(Protocol):
    """A router that can send requests with a given header or cookie to chosen slots
    (a canary reached on purpose), whatever the weights."""

    def route(self, *, match: str, name: str, value: str | None, slots: Sequence[str]) -> None:
        """Requests whose ``match`` (header or cookie) ``name`` is ``value`` go to ``slots``;
        ``value`` None removes the route."""

    def clear_routes(self) -> None:
        """Remove every route: each request balanced by weight again."""

    def routes_in_effect(self) -> list[tuple[str, str, str, list[str]]]:
        """(match, name, value, slots) of each route the router applies now."""
