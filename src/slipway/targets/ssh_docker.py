"""A fleet whose hosts run containers (``type: ssh, runtime: docker``): the docker target's
rules on every host, each host's engine driven through its pooled SSH connection.

Each host is a ``DockerTarget`` of that host's engine (``containers/hosts.py``): slot
``h1-1_a`` is the container ``shop-production-h1-1_a`` on ``h1``, labelled as on this
machine, so ``instances`` reads the live placement from every host's Docker itself. A
container listens on its slot's port on the host's network, at the host's address
(``SLIPWAY_ADDRESS``), where HAProxy on the router's host reaches it as it reaches a process.

Work that concerns every host runs on all of them at once (at most ``max_parallel``); a host
that cannot be reached is its ``HostFailed`` (the host-failure policy decides) and, in
``instances``, is named in ``unreachable`` while the others are reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from slipway.clock import Clock
from slipway.containers.hosts import HostEngines
from slipway.spec.containers import HostDocker
from slipway.ssh.pool import SshPool
from slipway.targets.base import (
    CommandRun,
    InstanceSpec,
    InstanceState,
    ProcessState,
    RoleProcess,
)
from slipway.targets.docker import DockerTarget
from slipway.targets.ssh import FleetHosts, process_host, raise_failures

T = TypeVar("T")
S = TypeVar("S", InstanceSpec, RoleProcess)


class ContainerFleet(FleetHosts):
    def __init__(
        self,
        name: str,
        pool: SshPool,
        *,
        engines: HostEngines,
        app: str,
        environment: str,
        settings: HostDocker,
        deploy_to: str,
        slot_hosts: Mapping[str, str],
        process_hosts: Mapping[str, str],
        hosts: Sequence[str],
        clock: Clock,
    ) -> None:
        super().__init__(name, pool, deploy_to=deploy_to, slot_hosts=slot_hosts, hosts=hosts)
        self.engines = engines
        self.process_hosts = dict(process_hosts)  # every slot of every role → its host
        self._app, self._env, self._settings, self._clock = app, environment, settings, clock
        self._targets: dict[str, DockerTarget] = {}
        self._lock = threading.Lock()

    def _docker(self, host: str) -> DockerTarget:
        with self._lock:
            if host not in self._targets:
                self._targets[host] = DockerTarget(
                    self.name,
                    self.engines.engine(host),
                    app=self._app,
                    environment=self._env,
                    spec=self._settings,
                    volumes=list(self._settings.volumes),
                    clock=self._clock,
                )
            return self._targets[host]

    def _on(self, host: str, work: Callable[[DockerTarget], T]) -> T:
        return self.engines.on(host, lambda _: work(self._docker(host)))

    def _each(
        self, hosts: Sequence[str], work: Callable[[DockerTarget], T]
    ) -> dict[str, T | BaseException]:
        return self.engines.each(hosts, lambda host: self._on(host, work))

    def ensure_up(self) -> None:
        """Every host of the run answers, and its engine too (an unreachable one fails here,
        early, and the host-failure policy decides)."""
        live = [h for h in self.hosts if h not in self.excluded]
        raise_failures(self._each(live, DockerTarget.ensure_up))

    def instances(self) -> list[InstanceState]:
        found = self.readable(self._each(self.hosts, DockerTarget.instances))
        return sorted(found, key=lambda i: i.slot)

    def _at(self, host: str, spec: S) -> S:
        """``spec`` as it runs on ``host``: its address in the command and the environment
        (``SLIPWAY_ADDRESS``), where the app listens on the host's network."""
        address = self.pool.host(host).address
        return replace(
            spec,
            command=[a.replace("{address}", address) for a in spec.command],
            env={**spec.env, "SLIPWAY_ADDRESS": address},
        )

    def start(self, spec: InstanceSpec) -> None:
        host = self.host_of(spec.slot)
        here = self._at(host, spec)
        self._on(host, lambda docker: docker.start(here))

    def stop(self, slot: str) -> None:
        self._on(self.host_of(slot), lambda docker: docker.stop(slot))

    def down(self) -> None:
        raise_failures(self._each(self.live_hosts(), DockerTarget.down))

    # roles without traffic: containers on the hosts of their groups

    def _process_host(self, name: str) -> str:
        return process_host(self.process_hosts, name)

    def processes(self) -> list[ProcessState]:
        hosts = sorted(set(self.process_hosts.values()))
        found = self.readable(self._each(hosts, DockerTarget.processes))
        return sorted(found, key=lambda p: p.name)

    def start_process(self, spec: RoleProcess) -> None:
        host = self._process_host(spec.name)
        here = self._at(host, spec)
        self._on(host, lambda docker: docker.start_process(here))

    def stop_process(self, name: str) -> None:
        self._on(self._process_host(name), lambda docker: docker.stop_process(name))

    def run_beside(
        self, name: str, argv: Sequence[str], *, directory: Path, env: Mapping[str, str],
        timeout_s: float,
    ) -> CommandRun:  # fmt: skip
        """In the process's own container, on its host (``docker exec``)."""
        return self._on(
            self._process_host(name),
            lambda docker: docker.run_beside(
                name, argv, directory=directory, env=env, timeout_s=timeout_s
            ),
        )

    def close(self) -> None:
        self.engines.close()
        super().close()
