"""A Compose file's services without ports, as the spec's roles without traffic.

A worker or a scheduler that runs the web service's own image (the same ``build``, or the
same ``image``) with another ``command`` is what ``roles:`` models: each becomes a role of
``deploy.replicas`` processes (1 when unset), with its ``environment``, its
``stop_grace_period`` as the warm shutdown, and its ``healthcheck`` — which Compose runs
inside the container, as Slipway runs a role's check (``docker exec``) — as the check. A
service whose name or command says ``beat`` (Celery's scheduler) is a singleton: two would
send every periodic task twice. A service that runs another image cannot be a role (a role
runs the release) and is listed instead.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slipway.spec.compose import Imported

ROLE_NAME = re.compile(r"^[a-z][a-z0-9]{0,19}$")
DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}


def role_name(service: str) -> str | None:
    """``celery_worker`` → ``celeryworker``: a role's name is lowercase letters and digits."""
    name = re.sub(r"[^a-z0-9]", "", service.lower())[:20]
    return name if ROLE_NAME.fullmatch(name) and name != "web" else None


def same_release(service: dict[str, Any], web: dict[str, Any]) -> bool:
    """Whether ``service`` runs the image the web service's release is."""
    if service.get("build") is not None and web.get("build") is not None:
        return _context(service["build"]) == _context(web["build"])
    image = web.get("image")
    return service.get("build") is None and image is not None and service.get("image") == image


def _context(build: Any) -> str:
    return str(build if isinstance(build, str) else (build or {}).get("context", "."))


def role_of(
    found: Imported, name: str, service: dict[str, Any], *, environment: dict[str, str]
) -> dict[str, Any] | None:
    """The role ``service`` becomes, or None (listed in ``found.unmapped``)."""
    command = _argv(service.get("command"))
    if not command:
        found.unmapped.append(
            f"services.{name}: no command: a role needs one (the image's CMD is the web's)"
        )
        return None
    singleton = "beat" in name.lower() or "beat" in command
    role: dict[str, Any] = {"command": command}
    replicas = int((service.get("deploy") or {}).get("replicas") or 1)
    if singleton:
        role["singleton"] = True
        if replicas > 1:
            found.unmapped.append(f"services.{name}: {replicas} replicas of a scheduler: one runs")
    elif replicas > 1:
        role["count"] = replicas
    if environment:
        role["env"] = environment
    grace = service.get("stop_grace_period")
    if grace:
        role["stop_timeout_s"] = seconds(grace)
    check = _check(service.get("healthcheck") or {})
    if check:
        role["check"] = {"command": check}
    return role


def _argv(command: Any) -> list[str]:
    if isinstance(command, list):
        return [str(a) for a in command]
    if isinstance(command, str) and command.strip():
        return shlex.split(command)
    return []


def _check(healthcheck: dict[str, Any]) -> list[str]:
    """Compose's ``test`` as argv: ``[CMD, …]`` as is, ``[CMD-SHELL, x]`` or a string via sh."""
    test = healthcheck.get("test")
    if isinstance(test, list) and test:
        head, rest = str(test[0]), [str(a) for a in test[1:]]
        if head == "CMD":
            return rest
        if head == "CMD-SHELL" and rest:
            return ["sh", "-c", " ".join(rest)]
        return []  # NONE: no check
    if isinstance(test, str) and test.strip():
        return ["sh", "-c", test]
    return []


def seconds(value: Any) -> float:
    """A Compose duration (``1m30s``, ``100ms``) or a number, in seconds."""
    if isinstance(value, int | float):
        return float(value)
    total = sum(float(n) * UNITS[unit] for n, unit in DURATION.findall(str(value)))
    return total or 10.0
