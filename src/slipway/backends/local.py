"""This machine's parts: a supervisord of the environment's own, HAProxy under it, releases
under the state directory; and where a runner reaches instances and HAProxy's request log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from slipway.analysis.haproxy_log import FollowedLog, LogCollector, RequestLog
from slipway.clock import Clock
from slipway.release import Releases
from slipway.router.base import Router
from slipway.router.haproxy import HAProxyRouter
from slipway.router.haproxy_config import HAProxyConfig
from slipway.sockets import socket_dir
from slipway.spec.environment import Environment
from slipway.spec.process import HttpCheckSpec
from slipway.supervisord.local import Supervisor
from slipway.targets.local import LocalTarget

if TYPE_CHECKING:
    from slipway.backends import Parts

# HAProxy's per-request log goes here; a runner analysing a release listens on it.
LOG_SOCKET = "requests.sock"


def local_parts(env: Environment, *, clock: Clock) -> Parts:
    from slipway.backends import Parts

    run_dir = run_directory(env)
    supervisor = Supervisor(run_dir, clock=clock)
    health = env.health.check
    config = HAProxyConfig(
        run_dir=run_dir,
        listen_host=env.router.listen.host,
        listen_port=env.router.listen.port,
        backend=env.app,
        slots=[(slot, port) for _, slot, port in env.slots()],
        health_path=health.path if isinstance(health, HttpCheckSpec) else None,
        metrics_port=env.router.metrics_port,
        log_socket=log_socket(env),
        socket_dir=socket_dir(run_dir),
    )
    target = LocalTarget(env.targets[0].name, supervisor)
    return Parts(
        target=target,
        roles=target,  # the same supervisord runs the roles' processes
        router=HAProxyRouter(config, supervisor, clock=clock),
        releases=Releases(env.state_dir / "releases", spec=env.release, spec_root=env.root),
    )


def run_directory(env: Environment) -> Path:
    return env.state_dir / "run"


def log_socket(env: Environment) -> Path:
    """Where HAProxy sends each request's log line for a runner analysing a release."""
    return socket_dir(run_directory(env)) / LOG_SOCKET


@runtime_checkable
class RingRouter(Protocol):
    """A router whose request log is a ring to follow (HAProxy on a fleet's LB host)."""

    def follow_request_log(self, on_line: Callable[[str], None], stop: Event) -> None: ...


def request_log(env: Environment, router: Router) -> RequestLog:
    """Where a runner hears HAProxy's per-request log: the run directory's socket here, or
    the LB host's log ring, followed over SSH, on a fleet. Not started."""
    if isinstance(router, RingRouter):
        return FollowedLog(router.follow_request_log)
    return LogCollector(log_socket(env))
