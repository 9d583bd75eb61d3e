"""This machine's parts: a supervisord of the environment's own, HAProxy under it, releases
under the state directory; and where a runner reaches instances and HAProxy's request log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from slipway.analysis.haproxy_log import FollowedLog, RequestLog
from slipway.clock import Clock
from slipway.errors import BackendError
from slipway.release import Releases
from slipway.router.base import Router
from slipway.router.haproxy import HAProxyRouter
from slipway.router.haproxy_config import HAProxyConfig
from slipway.sockets import socket_dir
from slipway.spec.environment import Environment
from slipway.spec.process import HttpCheckSpec
from slipway.spec.strategy import header_routes
from slipway.supervisord.local import Supervisor
from slipway.targets.local import LocalTarget

if TYPE_CHECKING:
    from slipway.backends import Parts


def local_parts(env: Environment, *, clock: Clock) -> Parts:
    from slipway.backends import Parts

    supervisor = Supervisor(run_directory(env), clock=clock)
    return Parts(
        target=LocalTarget(env.targets[0].name, supervisor),
        router=local_router(env, supervisor, clock=clock),
        releases=Releases(env.state_dir / "releases", spec=env.release, spec_root=env.root),
    )


def local_router(env: Environment, supervisor: Supervisor, *, clock: Clock) -> HAProxyRouter:
    """HAProxy on this machine, a program of the environment's own supervisord."""
    run_dir = run_directory(env)
    health = env.health.check
    config = HAProxyConfig(
        run_dir=run_dir,
        listen_host=env.router.listen.host,
        listen_port=env.router.listen.port,
        backend=env.app,
        slots=[(slot, port) for _, slot, port in env.slots()],
        health_path=health.path if isinstance(health, HttpCheckSpec) else None,
        metrics_port=env.router.metrics_port,
        log_ring=True,
        socket_dir=socket_dir(run_dir),
        routes=header_routes(env.strategy),
    )
    return HAProxyRouter(config, supervisor, clock=clock)


def run_directory(env: Environment) -> Path:
    return env.state_dir / "run"


@runtime_checkable
class RingRouter(Protocol):
    """A router whose per-request log is a ring to follow (HAProxy, here or on an LB host)."""

    def follow_request_log(self, on_line: Callable[[str], None], stop: Event) -> None: ...


def request_log(env: Environment, router: Router) -> RequestLog:
    """Where a runner hears the router's per-request log: HAProxy's log ring, followed
    through its runtime API (here, or on a fleet's LB host). Not started."""
    if not isinstance(router, RingRouter):
        raise BackendError(
            f"the router of {env.app}/{env.name} gives no per-request log",
            hint="use `provider: prometheus` or `provider: probe` for this analysis",
        )
    return FollowedLog(router.follow_request_log)
