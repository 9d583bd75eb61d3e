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

from slipway.errors import HostFailed, SlipwayError
from slipway.ssh.layout import ReleaseSync, RemoteLayout
from slipway.ssh.pool import SshPool
from slipway.targets.base import InstanceSpec, InstanceState
from slipway.targets.ssh_services import RemoteInstance, Service


class SshTarget:
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
        self.name = name
        self.pool = pool
        self.service = service
        self.layout = layout
        self.sync = sync
        self.slot_hosts = dict(slot_hosts)
        self.hosts = list(hosts)  # the hosts this run works on (after --limit)
        self.unreachable: dict[str, str] = {}

    def host_of(self, slot: str) -> str:
        return self.slot_hosts[slot]

    def _raise_first(self, results: Mapping[str, object]) -> None:
        for host, result in results.items():
            if isinstance(result, SlipwayError):
                raise result
            if isinstance(result, BaseException):
                raise HostFailed(host, f"{type(result).__name__}: {result}") from result

    def ensure_up(self) -> None:
        live = [h for h in self.hosts if not self.pool.is_down(h)]
        self._raise_first(self.pool.map(live, self.service.ensure_up))

    def instances(self) -> list[InstanceState]:
        results = self.pool.map(self.hosts, self.service.instances)
        found: list[InstanceState] = []
        for host, result in results.items():
            if isinstance(result, HostFailed) and result.unreachable:
                self.unreachable[host] = result.detail
                continue
            if isinstance(result, BaseException):
                raise result
            found += result
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
        live = [h for h in self.hosts if not self.pool.is_down(h)]
        self._raise_first(self.pool.map(live, self.service.down))

    def close(self) -> None:
        self.pool.close()
