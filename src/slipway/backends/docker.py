"""The parts of an environment on a docker target: containers of a Docker engine, HAProxy in
front of them under the environment's supervisord on this machine (as for processes), and
releases as images (``backends.images``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from slipway.backends.images import ImageReleases
from slipway.backends.local import local_router, run_directory
from slipway.clock import Clock
from slipway.containers.engine import Engine
from slipway.spec.containers import VOLUME
from slipway.spec.environment import Environment
from slipway.spec.targets import DockerTargetSpec
from slipway.supervisord.local import Supervisor
from slipway.targets.docker import DockerTarget

if TYPE_CHECKING:
    from slipway.backends import Parts


def docker_parts(env: Environment, *, clock: Clock) -> Parts:
    from slipway.backends import Parts

    spec = env.targets[0]
    assert isinstance(spec, DockerTargetSpec)  # PARTS chose this factory by its type
    assert env.release.image is not None  # the spec refuses a docker target without one
    engine = Engine(spec.docker_host or os.environ.get("DOCKER_HOST"))
    supervisor = Supervisor(run_directory(env), clock=clock)
    target = DockerTarget(
        spec.name,
        engine,
        app=env.app,
        environment=env.name,
        spec=spec,
        volumes=[resolve_volume(v, env) for v in spec.volumes],
        host_supervisor=supervisor,
        clock=clock,
    )
    releases = ImageReleases(
        env.state_dir / "releases",
        engine=engine,
        spec=env.release.image,
        spec_root=env.root,
        app=env.app,
    )
    return Parts(
        target=target,
        roles=target,  # a role's processes are containers of the same engine
        router=local_router(env, supervisor, clock=clock),
        releases=releases,
    )


def resolve_volume(volume: str, env: Environment) -> str:
    """A bind's relative source (``./data:/data``) is relative to the spec's directory."""
    match = VOLUME.fullmatch(volume)
    assert match is not None  # validated in the spec
    source = match["source"]
    if not source.startswith("."):
        return volume
    rest = volume[len(source) :]
    return f"{(env.root / source).resolve()}{rest}"
