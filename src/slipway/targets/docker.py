"""The docker target: instances as containers of a Docker engine, one per slot.

Slot ``web-1_a`` of app ``shop`` in environment ``production`` is the container
``shop-production-web-1_a``, labelled with app, environment, version, slot, port and the
deployment that started it. ``instances()`` reads those labels from Docker itself, so the
placement that status, resume and rollback plans are built from is what really runs — also
after a runner died or dockerd restarted. Containers share the host's network: each listens
on its slot's port (``PORT``), and HAProxy (under the environment's supervisord, on this
machine) reaches it on loopback as it reaches a process.

``start`` of a slot whose container already runs the same image and version does nothing;
any other container in the slot is stopped (SIGTERM through ``--init``, the stop timeout,
then SIGKILL) and replaced. A new container counts as started once it ran ``START_SECS``
without exiting or being restarted (supervisord's ``startsecs`` for a process): a command
that cannot run fails its start with its log, not later as a health check that times out.
``stop`` of a slot without a container does nothing.

The processes of roles without traffic (workers, beat) are containers too, of the release's
image: ``shop-production-worker-1_b``, labelled with the process and its role instead of a
slot. A role's check runs in its container (``docker exec``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from slipway.clock import Clock, SystemClock
from slipway.containers.engine import Container, ContainerConfig, Engine
from slipway.errors import PermanentError
from slipway.spec.targets import DockerTargetSpec
from slipway.supervisord.local import Supervisor
from slipway.targets.base import (
    CommandRun,
    InstanceSpec,
    InstanceState,
    ProcessState,
    RoleProcess,
)

LABEL = "slipway."  # every label Slipway sets starts with this
START_SECS = 1.0


class DockerTarget:
    def __init__(
        self,
        name: str,
        engine: Engine,
        *,
        app: str,
        environment: str,
        spec: DockerTargetSpec,
        volumes: list[str],
        host_supervisor: Supervisor | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = name
        self.engine = engine
        self._app = app
        self._env = environment
        self._spec = spec
        self._volumes = volumes  # the spec's, relative sources resolved
        # the environment's supervisord on this machine (HAProxy's): `down` stops it too
        self._host_supervisor = host_supervisor
        self._clock = clock or SystemClock()

    def container_name(self, slot: str) -> str:
        return f"{self._app}-{self._env}-{slot}"

    def _ours(self) -> dict[str, str]:
        return {f"{LABEL}app": self._app, f"{LABEL}environment": self._env}

    def ensure_up(self) -> None:
        self.engine.ping()

    def instances(self) -> list[InstanceState]:
        result = [
            _state(c) for c in self.engine.containers(self._ours()) if f"{LABEL}slot" in c.labels
        ]
        return sorted(result, key=lambda i: i.slot)

    def start(self, spec: InstanceSpec) -> None:
        if spec.image is None:
            raise PermanentError(f"{spec.slot}: release {spec.version} is not an image")
        name = self.container_name(spec.slot)
        existing = self.engine.container(name)
        if (
            existing is not None
            and existing.running
            and existing.image == spec.image
            and existing.labels.get(f"{LABEL}version") == spec.version
        ):
            return
        if existing is not None:
            self._remove(existing)
        env = {
            **spec.env,
            "PORT": str(spec.port),
            "SLIPWAY_VERSION": spec.version,
            "SLIPWAY_SLOT": spec.slot,
        }
        labels = {
            **self._ours(),
            f"{LABEL}version": spec.version,
            f"{LABEL}slot": spec.slot,
            f"{LABEL}port": str(spec.port),
            f"{LABEL}deployment": spec.deployment,
            f"{LABEL}stop_timeout_s": f"{spec.stop_timeout_s:g}",
        }
        started = self.engine.run(
            ContainerConfig(
                name=name,
                image=spec.image,
                command=list(spec.command),
                env=env,
                labels=labels,
                volumes=self._volumes,
                init=self._spec.init,
                restart=self._spec.restart,
                stop_timeout_s=spec.stop_timeout_s,
                network=self._spec.network,
            )
        )
        self._settle(started, spec.slot, spec.version)

    def _settle(self, started: Container, what: str, version: str) -> None:
        """Watch the new container for ``START_SECS``: exited or restarted is a failed start."""
        deadline = self._clock.monotonic() + START_SECS
        now: Container | None = started
        while True:
            if now is None or not now.running or now.restarts != started.restarts:
                state = "gone" if now is None else f"{now.status}, restarted {now.restarts}x"
                raise PermanentError(
                    f"{what}: {version} did not stay up ({state}); its log ends "
                    f"with:\n{self.engine.logs(started.name)}"
                )
            if self._clock.monotonic() >= deadline:
                return
            self._clock.sleep(0.1)
            now = self.engine.container(started.name)

    def stop(self, slot: str) -> None:
        existing = self.engine.container(self.container_name(slot))
        if existing is not None:
            self._remove(existing)

    def _remove(self, container: Container) -> None:
        """Stop with the grace it was started with (SIGTERM, then SIGKILL), and remove."""
        try:
            timeout = float(container.labels.get(f"{LABEL}stop_timeout_s", "10"))
        except ValueError:
            timeout = 10.0
        self.engine.remove(container.name, stop_timeout_s=timeout)

    # roles without traffic: one container per process, labelled with the process and role

    def processes(self) -> list[ProcessState]:
        found = [c for c in self.engine.containers(self._ours()) if f"{LABEL}process" in c.labels]
        return sorted((_process_state(c) for c in found), key=lambda p: p.name)

    def start_process(self, spec: RoleProcess) -> None:
        if spec.image is None:
            raise PermanentError(f"{spec.name}: release {spec.version} is not an image")
        name = self.container_name(spec.name)
        existing = self.engine.container(name)
        if (
            existing is not None
            and existing.running
            and existing.image == spec.image
            and existing.labels.get(f"{LABEL}version") == spec.version
        ):
            return
        if existing is not None:
            self._remove(existing)
        labels = {
            **self._ours(),
            f"{LABEL}version": spec.version,
            f"{LABEL}process": spec.name,
            f"{LABEL}role": spec.role,
            f"{LABEL}deployment": spec.deployment,
            f"{LABEL}stop_timeout_s": f"{spec.stop_timeout_s:g}",
        }
        env = {
            **spec.env,
            "SLIPWAY_VERSION": spec.version,
            "SLIPWAY_ROLE": spec.role,
            "SLIPWAY_PROCESS": spec.name,
        }
        started = self.engine.run(
            ContainerConfig(
                name=name,
                image=spec.image,
                command=list(spec.command),
                env=env,
                labels=labels,
                volumes=self._volumes,
                init=self._spec.init,  # SIGTERM reaches the worker: its warm shutdown
                restart=self._spec.restart,
                stop_timeout_s=spec.stop_timeout_s,
                network=self._spec.network,
            )
        )
        self._settle(started, spec.name, spec.version)

    def stop_process(self, name: str) -> None:
        """``docker stop`` with the role's grace waits until the container has exited."""
        self.stop(name)

    def run_beside(
        self, name: str, argv: Sequence[str], *, directory: Path, env: Mapping[str, str],
        timeout_s: float,
    ) -> CommandRun:  # fmt: skip
        """In the process's own container (``docker exec``, in the image's working directory:
        the release's files are the image's; ``directory`` is the host's view of them)."""
        status, output = self.engine.exec_in(
            self.container_name(name), argv, env=env, timeout_s=timeout_s
        )
        return CommandRun(status, output.strip()[-500:])

    def down(self) -> None:
        for container in self.engine.containers(self._ours()):
            self._remove(container)
        if self._host_supervisor is not None:
            self._host_supervisor.shutdown()

    def close(self) -> None:
        self.engine.close()


def _process_state(container: Container) -> ProcessState:
    labels = container.labels
    return ProcessState(
        name=labels[f"{LABEL}process"],
        role=labels.get(f"{LABEL}role", "?"),
        version=labels.get(f"{LABEL}version", "?"),
        running=container.running,
        state=container.status.upper(),
        pid=container.pid if container.running else None,
    )


def _state(container: Container) -> InstanceState:
    labels = container.labels
    state = container.status.upper()
    if container.health is not None:  # the image's own HEALTHCHECK, shown beside the state
        state = f"{state} ({container.health})"
    return InstanceState(
        slot=labels[f"{LABEL}slot"],
        port=int(labels.get(f"{LABEL}port", "0") or 0),
        version=labels.get(f"{LABEL}version", "?"),
        running=container.running,
        state=state,
        pid=container.pid if container.running else None,
    )
