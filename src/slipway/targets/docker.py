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
from dataclasses import dataclass
from pathlib import Path

from slipway.clock import Clock, SystemClock
from slipway.containers.engine import Container, ContainerConfig, Engine
from slipway.errors import PermanentError
from slipway.spec.containers import ContainerSettings
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
        spec: ContainerSettings,
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
        self._replace(
            spec.slot,
            _Run(spec.image, spec.version, spec.command, spec.stop_timeout_s, spec.deployment),
            env={**spec.env, "PORT": str(spec.port), "SLIPWAY_SLOT": spec.slot},
            labels={f"{LABEL}slot": spec.slot, f"{LABEL}port": str(spec.port)},
        )

    def _replace(
        self, what: str, run: _Run, *, env: dict[str, str], labels: dict[str, str]
    ) -> None:
        """Container ``what`` running ``run``: kept when it already runs that image and
        version, else the one there is stopped and a new one started and watched."""
        if run.image is None:
            raise PermanentError(f"{what}: release {run.version} is not an image")
        name = self.container_name(what)
        existing = self.engine.container(name)
        if (
            existing is not None
            and existing.running
            and existing.image == run.image
            and existing.labels.get(f"{LABEL}version") == run.version
        ):
            return
        if existing is not None:
            self._remove(existing)
        started = self.engine.run(
            ContainerConfig(
                name=name,
                image=run.image,
                command=list(run.command),
                env={**env, "SLIPWAY_VERSION": run.version},
                labels={
                    **self._ours(),
                    **labels,
                    f"{LABEL}version": run.version,
                    f"{LABEL}deployment": run.deployment,
                    f"{LABEL}stop_timeout_s": f"{run.stop_timeout_s:g}",
                },
                volumes=self._volumes,
                init=self._spec.init,  # SIGTERM reaches the app (a worker: its warm shutdown)
                restart=self._spec.restart,
                stop_timeout_s=run.stop_timeout_s,
                network=self._spec.network,
            )
        )
        self._settle(started, what, run.version)

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
        self._replace(
            spec.name,
            _Run(spec.image, spec.version, spec.command, spec.stop_timeout_s, spec.deployment),
            env={**spec.env, "SLIPWAY_ROLE": spec.role, "SLIPWAY_PROCESS": spec.name},
            labels={f"{LABEL}process": spec.name, f"{LABEL}role": spec.role},
        )

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


@dataclass(frozen=True)
class _Run:
    """What a container of a release runs, whichever kind of process it is."""

    image: str | None
    version: str
    command: Sequence[str]
    stop_timeout_s: float
    deployment: str


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
