"""Which real parts serve an environment: its target, its router, its releases, its checks.

The one place that knows the concrete backends. A new kind of target or
router is one new module plus one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from slipway.analysis.haproxy_log import FollowedLog, LogCollector, RequestLog
from slipway.checks.base import Check
from slipway.checks.command import CommandCheck
from slipway.checks.http import HttpCheck
from slipway.checks.tcp import TcpCheck
from slipway.clock import Clock
from slipway.release import Releases
from slipway.router.base import Router
from slipway.router.haproxy import HAProxyConfig, HAProxyRouter
from slipway.spec.model import CommandCheckSpec, Environment, HttpCheckSpec
from slipway.supervisord.local import Supervisor
from slipway.targets.base import Target
from slipway.targets.local import LocalTarget


@dataclass(frozen=True)
class Backends:
    target: Target
    router: Router
    releases: Releases
    parallel: int = 16  # steps of one group run at once (a fleet: its max_parallel)

    @classmethod
    def for_environment(cls, env: Environment, *, clock: Clock) -> Backends:
        if env.fleet is not None:
            from slipway.backends.fleet import fleet_parts  # imports asyncssh: fleets only

            target, router, releases = fleet_parts(env, clock=clock)
            return cls(target, router, releases, parallel=env.fleet.spec.max_parallel)
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
            log_socket=run_dir / LOG_SOCKET,
        )
        return cls(
            target=LocalTarget(env.targets[0].name, supervisor),
            router=HAProxyRouter(config, supervisor, clock=clock),
            releases=Releases(env.state_dir / "releases", spec=env.release, spec_root=env.root),
        )

    def close(self) -> None:
        """Let go of connections (a fleet's SSH pool); local backends hold none."""
        close = getattr(self.target, "close", None)
        if close is not None:
            close()


# HAProxy's per-request log goes here; a runner analysing a release listens on it.
LOG_SOCKET = "requests.sock"


def run_directory(env: Environment) -> Path:
    return env.state_dir / "run"


def request_log(env: Environment, router: Router) -> RequestLog:
    """Where a runner hears HAProxy's per-request log: the run directory's socket here, or
    the LB host's log ring, followed over SSH, on a fleet. Not started."""
    if env.fleet is not None:
        from slipway.router.remote import RemoteHAProxyRouter  # imports asyncssh: fleets only

        assert isinstance(router, RemoteHAProxyRouter)
        return FollowedLog(router.follow_request_log)
    return LogCollector(run_directory(env) / LOG_SOCKET)


def instance_address(env: Environment, slot: str) -> str:
    """Where this machine reaches the instance in ``slot``: its fleet host, or loopback."""
    if env.fleet is not None:
        return env.fleet.hosts[env.slot_hosts()[slot]].address
    return "127.0.0.1"


def instance_url(env: Environment, slot: str, port: int, path: str) -> str:
    return _url(instance_address(env, slot), port, path)


def _url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path}"


def health_check(env: Environment, *, port: int, slot: str) -> Check:
    """The spec's health check aimed at one instance (on its fleet host's address, if any)."""
    spec = env.health.check
    address = instance_address(env, slot)
    if isinstance(spec, HttpCheckSpec):
        return HttpCheck(
            _url(address, port, spec.path),
            expect_status=spec.expect_status,
            expect_body=spec.expect_body,
            timeout_s=spec.timeout_s,
            name=f"http {slot}",
        )
    if isinstance(spec, CommandCheckSpec):
        argv = [a.replace("{port}", str(port)).replace("{address}", address) for a in spec.command]
        return CommandCheck(argv, timeout_s=spec.timeout_s, cwd=env.root)
    return TcpCheck(address, port, timeout_s=spec.timeout_s)
