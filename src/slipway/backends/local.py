"""This machine's parts: a supervisord of the environment's own, HAProxy under it, releases
under the state directory; and where a runner reaches instances and HAProxy's request log."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from slipway.analysis.haproxy_log import FollowedLog, RequestLog
from slipway.clock import Clock
from slipway.errors import BackendError, PermanentError
from slipway.release import Releases
from slipway.router.base import Router
from slipway.router.haproxy import HAProxyRouter
from slipway.router.haproxy_config import HAProxyConfig
from slipway.router.maintenance import DEFAULT_PAGE, MaintenancePage
from slipway.router.nginx import NginxConfig, NginxRouter
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
    target = LocalTarget(env.targets[0].name, supervisor)
    return Parts(
        target=target,
        roles=target,  # the same supervisord runs the roles' processes
        router=local_router(env, supervisor, clock=clock),
        releases=Releases(env.state_dir / "releases", spec=env.release, spec_root=env.root),
    )


def local_router(env: Environment, supervisor: Supervisor, *, clock: Clock) -> Router:
    """The router on this machine (``router.type``), a program of the environment's own
    supervisord."""
    return ROUTERS[env.router.type](env, run_directory(env), supervisor, clock)


def _haproxy(env: Environment, run_dir: Path, supervisor: Supervisor, clock: Clock) -> Router:
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
        maintenance=maintenance_page(env, run_dir),
        routes=header_routes(env.strategy),
    )
    router = HAProxyRouter(config, supervisor, clock=clock)
    if env.router.maintenance is not None:
        router.maintenance_html, router.bypass_token = maintenance_files(env)
    return router


def _nginx(env: Environment, run_dir: Path, supervisor: Supervisor, clock: Clock) -> Router:
    config = NginxConfig(
        run_dir=run_dir,
        listen_host=env.router.listen.host,
        listen_port=env.router.listen.port,
        backend=env.app,
        slots=[(slot, port) for _, slot, port in env.slots()],
    )
    return NginxRouter(config, supervisor, clock=clock, drain_timeout_s=env.router.drain_timeout_s)


#: the router of a local environment, one per ``router.type`` (tests/test_registries.py)
ROUTERS: dict[str, Callable[[Environment, Path, Supervisor, Clock], Router]] = {
    "haproxy": _haproxy,
    "nginx": _nginx,
}


def maintenance_page(env: Environment, run_dir: Path) -> MaintenancePage | None:
    spec = env.router.maintenance
    if spec is None:
        return None
    return MaintenancePage(run_dir.resolve(), spec.retry_after_s, spec.bypass_header)


def maintenance_files(env: Environment) -> tuple[str, str | None]:
    """The page's HTML (the spec's file, or a plain one) and the testers' token (from the
    variable the spec names; unset: nobody gets through)."""
    spec = env.router.maintenance
    assert spec is not None
    html = DEFAULT_PAGE
    if spec.page is not None:
        try:
            html = (env.root / spec.page).read_text()
        except OSError as exc:
            raise PermanentError(f"router.maintenance.page: {exc}") from exc
    token = os.environ.get(spec.bypass_token_env) if spec.bypass_token_env else None
    return html, token or None


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
