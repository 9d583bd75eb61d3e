"""From a spec's environment to its live backends: target, router, releases.

``PARTS`` is the registry: one factory per target ``type:`` of the spec (``local``: this
machine's supervisord and HAProxy; ``docker``: containers of a Docker engine behind that
HAProxy, releases as images; ``ssh``: a fleet, whose hosts run processes or containers:
``RUNTIMES``). A new kind of target is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from slipway.clock import Clock
from slipway.release import ReleaseStore
from slipway.router.base import Router
from slipway.spec.environment import Environment
from slipway.targets.base import Fencing, RoleTarget, Target


@runtime_checkable
class Closing(Protocol):
    """A target holding connections (a fleet's SSH pool) to let go of."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Parts:
    target: Target
    router: Router
    releases: ReleaseStore
    parallel: int = 16  # steps of one group run at once (a fleet: its max_parallel)
    #: where the processes of roles without traffic run (workers, beat); None: no roles here
    roles: RoleTarget | None = None


def _local(env: Environment, clock: Clock) -> Parts:
    from slipway.backends.local import local_parts

    return local_parts(env, clock=clock)


def _docker(env: Environment, clock: Clock) -> Parts:
    from slipway.backends.docker import docker_parts  # imports the docker SDK: containers only

    return docker_parts(env, clock=clock)


def _ssh(env: Environment, clock: Clock) -> Parts:
    assert env.fleet is not None
    return RUNTIMES[env.fleet.spec.runtime](env, clock)


def _fleet_processes(env: Environment, clock: Clock) -> Parts:
    from slipway.backends.fleet import fleet_parts  # imports asyncssh: fleets only

    assert env.fleet is not None
    target, router, releases, roles = fleet_parts(env, clock=clock)
    return Parts(target, router, releases, parallel=env.fleet.spec.max_parallel, roles=roles)


def _fleet_containers(env: Environment, clock: Clock) -> Parts:
    from slipway.backends.fleet_docker import container_fleet_parts  # asyncssh and docker

    return container_fleet_parts(env, clock=clock)


#: how a fleet's hosts run the release: one per ``runtime`` of the ssh target's spec
RUNTIMES: dict[str, Callable[[Environment, Clock], Parts]] = {
    "process": _fleet_processes,
    "docker": _fleet_containers,
}


PARTS: dict[str, Callable[[Environment, Clock], Parts]] = {
    "local": _local,
    "docker": _docker,
    "ssh": _ssh,
}


@dataclass(frozen=True)
class Backends(Parts):
    @classmethod
    def for_environment(cls, env: Environment, *, clock: Clock) -> Backends:
        parts = PARTS[env.targets[0].type](env, clock)
        return cls(parts.target, parts.router, parts.releases, parts.parallel, parts.roles)

    def fence(self, token: int | None) -> None:
        """Make the targets that record the lease's token (a fleet's hosts) check it before
        their next command; local targets have only this machine, fenced by the store."""
        if isinstance(self.target, Fencing):
            self.target.fence(token)

    def close(self) -> None:
        """Let go of connections (a fleet's SSH pool); local backends hold none."""
        if isinstance(self.target, Closing):
            self.target.close()


__all__ = ["PARTS", "RUNTIMES", "Backends", "Parts"]
