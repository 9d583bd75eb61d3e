"""The spec's health check aimed at one instance, and where this machine reaches it.

``HEALTH_CHECKS`` is the registry: one factory per ``health.check.type`` of the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slipway.checks.base import Check
from slipway.checks.command import CommandCheck
from slipway.checks.http import HttpCheck
from slipway.checks.tcp import TcpCheck
from slipway.spec.environment import Environment


def instance_address(env: Environment, slot: str) -> str:
    """Where this machine reaches the instance in ``slot``: its fleet host, or loopback."""
    if env.fleet is not None:
        return env.fleet.hosts[env.slot_hosts()[slot]].address
    return "127.0.0.1"


def instance_url(env: Environment, slot: str, port: int, path: str) -> str:
    return url(instance_address(env, slot), port, path)


def url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path}"


def _http(env: Environment, spec: Any, address: str, port: int, slot: str) -> Check:
    return HttpCheck(
        url(address, port, spec.path),
        expect_status=spec.expect_status,
        expect_body=spec.expect_body,
        timeout_s=spec.timeout_s,
        name=f"http {slot}",
    )


def _command(env: Environment, spec: Any, address: str, port: int, slot: str) -> Check:
    argv = [a.replace("{port}", str(port)).replace("{address}", address) for a in spec.command]
    return CommandCheck(argv, timeout_s=spec.timeout_s, cwd=env.root)


def _tcp(env: Environment, spec: Any, address: str, port: int, slot: str) -> Check:
    return TcpCheck(address, port, timeout_s=spec.timeout_s)


HEALTH_CHECKS: dict[str, Callable[[Environment, Any, str, int, str], Check]] = {
    "http": _http,
    "command": _command,
    "tcp": _tcp,
}


def health_check(env: Environment, *, port: int, slot: str) -> Check:
    """The spec's health check aimed at one instance (on its fleet host's address, if any)."""
    spec = env.health.check
    return HEALTH_CHECKS[spec.type](env, spec, instance_address(env, slot), port, slot)
