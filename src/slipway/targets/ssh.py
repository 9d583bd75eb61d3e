"""The SSH target: a fleet of hosts behind the one ``Target`` interface.

Each slot belongs to one host (``<host>-<i>_a``); the target dispatches every
call to that host's ``Service`` over the pool's one connection per host.
Calls that concern every host (``ensure_up``, ``instances``, ``down``) run on
all of them at once, bounded by the pool's ``max_parallel``.

``instances`` reports what it could read: a host that does not answer is left
out (its slots look empty) and named in ``unreachable``, so a rollback can
still be planned and run for the others while the report names that host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from slipway.errors import HostFailed, PermanentError
from slipway.ssh.fence import HostFence
from slipway.ssh.layout import ReleaseSync, RemoteLayout
from slipway.ssh.pool import SshPool
from slipway.targets.base import InstanceSpec, InstanceState
from slipway.targets.ssh_services import RemoteInstance, Service

T = TypeVar("T")


class FleetHosts:
    """What a fleet target does with its hosts, whatever runs on them: the lease's fence,
    a probe, leaving a failed host out, and the slots' hosts."""

    def __init__(
        self,
        name: str,
        pool: SshPool,
        *,
        deploy_to: str,
        slot_hosts: Mapping[str, str],
        hosts: Sequence[str],
    ) -> None:
        self.name = name
        self.pool = pool
        self.deploy_to = deploy_to  # where each host records the lease token
        self.slot_hosts = dict(slot_hosts)
        self.hosts = list(hosts)  # the hosts this run works on (after --limit)
        self.unreachable: dict[str, str] = {}  # found so by ``instances``
        self.excluded: dict[str, str] = {}  # left out of this run by the host-failure policy

    def fence(self, token: int | None) -> None:
        """Act on the hosts only while their recorded lease token is not newer than ``token``
        (recording it there): ``ssh/fence.py``. None: stop checking."""
        if token is None:
            if self.pool.fence is not None:
                self.pool.fence.disarm()
            return
        if self.pool.fence is None:
            self.pool.fence = HostFence(f"{self.deploy_to}/lease-token")
        self.pool.fence.arm(token)

    def host_of(self, slot: str) -> str:
        return self.slot_hosts[slot]

    def live_hosts(self) -> list[str]:
        return self.pool.live(self.hosts)

    def readable(self, results: Mapping[str, list[T] | BaseException]) -> list[T]:
        """What the hosts reported, together; a host that did not answer is named in
        ``unreachable`` and left out, any other failure raised."""
        found: list[T] = []
        for host, result in results.items():
            if isinstance(result, HostFailed) and result.unreachable:
                self.unreachable[host] = result.detail
                continue
            if isinstance(result, BaseException):
                raise result
            found += result
        return found

    def probe(self, host: str) -> str | None:
        """None if ``host`` answers a trivial command now; else why not."""
        try:
            self.pool.run(host, "true", timeout_s=min(5.0, self.pool.command_timeout_s))
        except HostFailed as exc:
            return exc.detail
        return None

    def exclude(self, host: str, reason: str) -> None:
        """Leave ``host`` out of the rest of this run (it failed)."""
        self.excluded[host] = reason
        self.pool.mark_down(host, reason)

    def close(self) -> None:
        self.pool.close()


class SshTarget(FleetHosts):
    """Instances as processes of a host's service (supervisord, systemd, your commands)."""

    def __init__(
        self,
        name: str,
        pool: SshPool,
        *,
        service: Service,
        layout: RemoteLayout,
        sync: ReleaseSync,
        slot_hosts: Mapping[str, str],
        hosts: Sequence[str],
    ) -> None:
        super().__init__(name, pool, deploy_to=layout.deploy_to, slot_hosts=slot_hosts, hosts=hosts)
        self.service = service
        self.layout = layout
        self.sync = sync

    def ensure_up(self) -> None:
        """Every host of the run, an unreachable one included: that one fails here, early,
        and the host-failure policy decides."""
        live = [h for h in self.hosts if h not in self.excluded]
        raise_failures(self.pool.map(live, self.service.ensure_up))

    def instances(self) -> list[InstanceState]:
        found = self.readable(self.pool.map(self.hosts, self.service.instances))
        return sorted(found, key=lambda i: i.slot)

    def start(self, spec: InstanceSpec) -> None:
        host = self.host_of(spec.slot)
        address = self.pool.host(host).address
        env = {
            **spec.env,
            "PORT": str(spec.port),
            "SLIPWAY_VERSION": spec.version,
            "SLIPWAY_SLOT": spec.slot,
            "SLIPWAY_ADDRESS": address,
        }
        remote = RemoteInstance(
            slot=spec.slot,
            port=spec.port,
            version=spec.version,
            release_dir=self.layout.release_dir(spec.version),
            command=[a.replace("{address}", address) for a in spec.command],
            env=env,
            stop_timeout_s=spec.stop_timeout_s,
        )

        async def run() -> None:
            await self.sync.ensure(host, spec.version, Path(spec.release_dir))
            await self.service.start(host, remote)

        self.pool.call(run())

    def stop(self, slot: str) -> None:
        self.pool.call(self.service.stop(self.host_of(slot), slot))

    def down(self) -> None:
        raise_failures(self.pool.map(self.live_hosts(), self.service.down))


def process_host(process_hosts: Mapping[str, str], name: str) -> str:
    """The host that runs the role process ``name`` (``worker-h1-1_a``)."""
    try:
        return process_hosts[name]
    except KeyError:
        raise PermanentError(f"no host runs the role process {name!r}") from None


def raise_failures(results: Mapping[str, object]) -> None:
    """Raise what failed on some hosts: all of them in one ``HostFailed``, so that the engine's
    host-failure policy sees every one; any other error as it is."""
    failed: dict[str, str] = {}
    for result in results.values():
        if isinstance(result, HostFailed):
            failed.update(result.hosts)
        elif isinstance(result, BaseException):
            raise result  # a release's or a bug's failure, not the host's: as it is
    if failed:
        first, *rest = failed
        raise HostFailed(first, failed[first], others={h: failed[h] for h in rest})
