"""The backends of a fleet: SSH target, HAProxy on the LB host, releases sent to every host.

``FleetReleases`` is the local ``Releases`` (build or unpack once, here) plus
the hosts: ``prepare`` also puts the release on every host the run works on
(skipping those that already have the same digest), ``link_current`` switches
``current`` on each, ``prune`` keeps the last N on each. The engine's actions
call the same three methods as for a local environment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from slipway.clock import Clock
from slipway.errors import SlipwayError
from slipway.release import Release, Releases
from slipway.router.haproxy_config import HAProxyConfig
from slipway.router.remote import RemoteHAProxyRouter
from slipway.spec.environment import Environment
from slipway.spec.fleet import Fleet, SshTargetSpec, SupervisordService
from slipway.spec.process import HttpCheckSpec
from slipway.spec.release import ReleaseSpec
from slipway.ssh.layout import Listing, ReleaseSync, RemoteLayout
from slipway.ssh.pool import SshHost, SshPool
from slipway.targets.ssh import SshTarget, raise_failures
from slipway.targets.ssh_roles import SshRoles
from slipway.targets.ssh_services import (
    CommandService,
    Service,
    SupervisordPrograms,
    SystemdService,
)


class FleetReleases(Releases):
    """Local releases, mirrored onto the fleet's hosts."""

    def __init__(
        self,
        root: Path,
        *,
        spec: ReleaseSpec,
        spec_root: Path,
        pool: SshPool,
        sync: ReleaseSync,
        hosts: list[str],
    ) -> None:
        super().__init__(root, spec=spec, spec_root=spec_root)
        self.pool = pool
        self.sync = sync
        self.hosts = hosts
        self._lock = threading.Lock()
        self._sent: set[str] = set()
        # what each host's switch of `current` saw there, for the prune that follows it (one
        # round trip, not two); an upload makes it stale, and a prune uses it once
        self._listed: dict[str, Listing] = {}

    def _live(self) -> list[str]:
        """The run's hosts but those left out (unreachable, or failed under `continue`)."""
        return self.pool.live(self.hosts)

    def prepare(self, version: str) -> Release:
        release = super().prepare(version)
        with self._lock:
            if release.digest in self._sent:
                return release
            live = self._live()

            async def send(host: str) -> bool:
                return await self.sync.ensure(host, version, release.path)

            self._listed.clear()
            raise_failures(self.pool.map(live, send))
            self._sent.add(release.digest)
        return release

    def link_current(self, version: str) -> Sequence[str]:
        super().link_current(version)
        live = self._live()

        async def switch(host: str) -> None:
            self._listed[host] = await self.sync.layout.switch_current(host, version)

        raise_failures(self.pool.map(live, switch))
        return live

    def prune(self, *, keep: int, protect: Collection[str]) -> list[str]:
        removed = super().prune(keep=keep, protect=protect)
        live = self._live()

        async def prune(host: str) -> list[str]:
            listing = self._listed.pop(host, None)
            return await self.sync.layout.prune(
                host, keep=keep, protect=set(protect), listing=listing
            )

        raise_failures(self.pool.map(live, prune))
        return removed


def make_pool(fleet: Fleet) -> SshPool:
    spec = fleet.spec
    hosts = [SshHost(h.name, h.address, h.port, h.user, h.key_file) for h in fleet.hosts.values()]
    return SshPool(
        hosts,
        known_hosts=fleet.known_hosts,
        connect_timeout_s=spec.connect_timeout_s,
        command_timeout_s=spec.command_timeout_s,
        max_parallel=spec.max_parallel,
    )


def _supervisord(env: Environment, pool: SshPool, service: Any) -> Service:
    spec = _fleet_spec(env)
    return SupervisordPrograms(
        pool,
        spec.deploy_to,
        python=service.python or spec.python,
        start_secs=service.start_secs,
        stop_timeout_s=env.process.stop_timeout_s,
    )


def _systemd(env: Environment, pool: SshPool, service: Any) -> Service:
    return SystemdService(pool, _fleet_spec(env).deploy_to, app=env.app, unit_dir=service.unit_dir)


def _commands(env: Environment, pool: SshPool, service: Any) -> Service:
    deploy_to = _fleet_spec(env).deploy_to
    return CommandService(
        pool, deploy_to, start=service.start, stop=service.stop, status=service.status
    )


#: how instances run on a fleet host: one per ``service.type`` of the ssh target's spec
SERVICES: dict[str, Callable[[Environment, SshPool, Any], Service]] = {
    "supervisord": _supervisord,
    "systemd": _systemd,
    "command": _commands,
}


def _fleet_spec(env: Environment) -> SshTargetSpec:
    assert env.fleet is not None
    return env.fleet.spec


def make_service(env: Environment, pool: SshPool) -> Service:
    service = _fleet_spec(env).service
    return SERVICES[service.type](env, pool, service)


def fleet_parts(
    env: Environment, *, clock: Clock
) -> tuple[SshTarget, RemoteHAProxyRouter, FleetReleases, SshRoles | None]:
    """Target, router, releases and the roles' processes (supervisord only) of a fleet
    environment, sharing one pool of connections."""
    fleet = env.fleet
    assert fleet is not None
    spec = fleet.spec
    pool = make_pool(fleet)
    layout = RemoteLayout(
        pool, spec.deploy_to, linked_dirs=spec.linked_dirs, linked_files=spec.linked_files
    )
    sync = ReleaseSync(layout, env.state_dir / "artifacts")
    slot_hosts = env.slot_hosts()
    target = SshTarget(
        spec.name,
        pool,
        service=make_service(env, pool),
        layout=layout,
        sync=sync,
        slot_hosts=slot_hosts,
        hosts=fleet.app_hosts,
    )
    router = fleet_router(env, pool, clock=clock)
    releases = FleetReleases(
        env.state_dir / "releases",
        spec=env.release,
        spec_root=env.root,
        pool=pool,
        sync=sync,
        hosts=fleet.app_hosts,
    )
    return target, router, releases, _roles(env, pool, sync, target.service)


def fleet_router(env: Environment, pool: SshPool, *, clock: Clock) -> RemoteHAProxyRouter:
    """HAProxy on the router's host, under a supervisord there, sending each slot's traffic
    to the slot's host; driven over the fleet's pool."""
    fleet = env.fleet
    assert fleet is not None
    spec = fleet.spec
    slot_hosts = env.slot_hosts()
    lb = env.router.host
    if lb is None:
        raise SlipwayError("a fleet needs `router.host`: the host HAProxy runs on")
    health = env.health.check
    admin = env.router.admin
    config = HAProxyConfig(
        run_dir=Path(f"{spec.deploy_to}/.slipway/router"),
        listen_host=env.router.listen.host,
        listen_port=env.router.listen.port,
        backend=env.app,
        slots=[(slot, port) for _, slot, port in env.all_slots()],
        health_path=health.path if isinstance(health, HttpCheckSpec) else None,
        metrics_port=env.router.metrics_port,
        addresses={slot: fleet.hosts[host].address for slot, host in slot_hosts.items()},
        admin_address=(admin.host, admin.port) if admin else None,
        log_ring=True,  # followed over SSH while a canary is analysed
    )
    service_python = spec.service.python if isinstance(spec.service, SupervisordService) else None
    python = service_python or spec.python
    return RemoteHAProxyRouter(
        config,
        pool,
        lb,
        python=python,
        supervisor_dir=f"{spec.deploy_to}/.slipway/supervisor",
        clock=clock,
    )


def _roles(env: Environment, pool: SshPool, sync: ReleaseSync, service: Service) -> SshRoles | None:
    """The roles' processes, on the hosts of their groups: supervisord programs."""
    if not env.roles or not isinstance(service, SupervisordPrograms):
        return None
    hosts: dict[str, str] = {}
    timeouts: dict[str, float] = {}
    for role, slots in env.role_slots().items():
        for a, b, host in slots:
            assert host is not None  # a fleet's processes always have one
            hosts |= {a: host, b: host}
            timeouts |= dict.fromkeys((a, b), env.roles[role].stop_timeout_s)
    return SshRoles(pool, service, sync=sync, process_hosts=hosts, stop_timeouts=timeouts)
