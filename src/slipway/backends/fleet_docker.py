"""The parts of a fleet whose hosts run containers (``type: ssh, runtime: docker``): each
host's Docker engine over its pooled SSH connection, HAProxy on the router's host as for
processes, and releases as images made here and put on each host (``fleet_images.py``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from slipway.backends.fleet import fleet_router, make_pool
from slipway.backends.fleet_images import FleetImages
from slipway.clock import Clock
from slipway.containers.engine import Engine
from slipway.containers.hosts import HostEngines
from slipway.spec.environment import Environment
from slipway.targets.ssh_docker import ContainerFleet

if TYPE_CHECKING:
    from slipway.backends import Parts


def container_fleet_parts(env: Environment, *, clock: Clock) -> Parts:
    from slipway.backends import Parts

    fleet = env.fleet
    assert fleet is not None and env.release.image is not None  # the spec saw to both
    spec = fleet.spec
    pool = make_pool(fleet)
    engines = HostEngines(pool, socket=spec.docker.socket)
    process_hosts = {
        name: host
        for slots in env.role_slots().values()
        for a, b, host in slots
        if host is not None
        for name in (a, b)
    }
    target = ContainerFleet(
        spec.name,
        pool,
        engines=engines,
        app=env.app,
        environment=env.name,
        settings=spec.docker,
        deploy_to=spec.deploy_to,
        slot_hosts=env.slot_hosts(),
        process_hosts=process_hosts,
        hosts=fleet.app_hosts,
        clock=clock,
    )
    hosts = list(dict.fromkeys([*fleet.app_hosts, *process_hosts.values()]))
    releases = FleetImages(
        env.state_dir / "releases",
        engine=Engine(os.environ.get("DOCKER_HOST")),  # builds and saves here
        spec=env.release.image,
        spec_root=env.root,
        app=env.app,
        engines=engines,
        hosts=hosts,
    )
    return Parts(
        target=target,
        router=fleet_router(env, pool, clock=clock),
        releases=releases,
        parallel=spec.max_parallel,
        roles=target if env.roles else None,
    )
