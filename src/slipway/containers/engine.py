"""A Docker engine, through the ``docker`` SDK's low-level API: the one module that imports it.

Everything the rest of Slipway needs from Docker is here — containers by label, create and
start, stop and remove, logs, images built, pulled by digest, looked up and removed — with
plain frozen records in and out, and the SDK's errors translated at this boundary into
Slipway's tree:

- the engine not answering (a dockerd restarting, a socket missing, a time-out), or
  answering 5xx: ``BackendError`` — the engine retries the step, as for a supervisord still
  starting;
- anything it refuses (4xx: a bad image, a conflict, credentials refused), a build that
  fails, an image that cannot be found: ``PermanentError``, with what Docker said.

The API version is pinned (1.41: Docker 20.10, which every later engine still speaks), so
making an ``Engine`` contacts nothing: a runner that only plans never needs dockerd.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions

from slipway.errors import BackendError, PermanentError

API_VERSION = "1.41"
# a dockerd restarting takes seconds (longer with many containers): a step that found it
# silent is tried again after this, instead of the 1 s a process still starting gets
SILENT_RETRY_S = 4.0
DEFAULT_HOST = "unix:///var/run/docker.sock"
TIMEOUT_S = 60
BUILD_TIMEOUT_S = 600


@dataclass(frozen=True)
class Container:
    """A container as the engine reports it now."""

    id: str
    name: str
    labels: Mapping[str, str]
    image: str  # the image ID it runs
    status: str  # created, running, restarting, exited, paused, dead
    health: str | None  # the image's HEALTHCHECK: starting, healthy, unhealthy; None if none
    pid: int | None
    restarts: int = 0

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclass(frozen=True)
class ContainerConfig:
    """What to run: the container's name, image and everything ``docker run`` would take."""

    name: str
    image: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    volumes: Sequence[str] = ()  # binds and named volumes, `source:/target[:ro]`
    init: bool = True
    restart: str = "unless-stopped"
    stop_timeout_s: float = 10.0
    network: str = "host"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


@contextlib.contextmanager
def translated(
    what: str, host: str, *, probe: bool = True, label: str | None = None
) -> Iterator[None]:
    """Docker's errors, as Slipway's: see the module's docstring. ``probe``: connect to a unix
    socket first (``_probe``); not for a forwarded one, which always accepts. ``label``: the
    engine in messages (``host`` when None)."""
    where = label or host
    try:
        if probe:
            _probe(host)
        yield
    except docker.errors.APIError as exc:
        explanation = exc.explanation or str(exc)
        if exc.status_code is not None and exc.status_code >= 500:
            raise BackendError(f"{what}: Docker at {where} failed: {explanation}") from None
        raise PermanentError(f"{what}: Docker at {where} refused: {explanation}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        silent = BackendError(f"{what}: Docker at {where} does not answer ({exc})")
        silent.delay_s = SILENT_RETRY_S
        raise silent from None


class Engine:
    """One Docker engine (``host``: ``unix://…`` or ``tcp://…``).

    ``remote``: the engine runs on another machine although its socket is here (a fleet
    host's, forwarded over SSH: ``ssh/forward.py``) — the PIDs it reports are not ours;
    ``label`` names it in messages (the host, not a local socket's path)."""

    def __init__(
        self,
        host: str | None = None,
        *,
        timeout_s: int = TIMEOUT_S,
        remote: bool = False,
        label: str | None = None,
    ) -> None:
        self.host = host or DEFAULT_HOST
        self.remote = remote or not self.host.startswith("unix://")
        self.label = label
        self._api = docker.APIClient(base_url=self.host, version=API_VERSION, timeout=timeout_s)

    def close(self) -> None:
        self._api.close()

    def _translated(self, what: str) -> contextlib.AbstractContextManager[None]:
        return translated(what, self.host, probe=not self.remote, label=self.label)

    def ping(self) -> None:
        with self._translated("ping"):
            self._api.ping()

    # containers

    def containers(self, labels: Mapping[str, str]) -> list[Container]:
        """Every container (running or not) carrying all of ``labels``."""
        wanted = [f"{k}={v}" for k, v in labels.items()]
        with self._translated("list containers"):
            found = self._api.containers(all=True, filters={"label": wanted})
        result = [self.container(str(c["Id"])) for c in found]
        return [c for c in result if c is not None]  # one removed meanwhile is gone

    def container(self, name: str) -> Container | None:
        with self._translated(f"inspect {name}"):
            try:
                data = self._api.inspect_container(name)
            except docker.errors.NotFound:
                return None
        return _container(data)

    def run(self, config: ContainerConfig) -> Container:
        """Create and start ``config.name``; the container as it is right after its start."""
        binds, volumes = _volumes(config.volumes)
        with self._translated(f"start {config.name}"):
            host_config = self._api.create_host_config(
                network_mode=config.network,
                init=config.init,
                restart_policy={"Name": config.restart} if config.restart != "no" else None,
                binds=binds or None,
            )
            created = self._api.create_container(
                config.image,
                command=list(config.command) or None,
                name=config.name,
                environment=dict(config.env),
                labels=dict(config.labels),
                volumes=volumes or None,
                host_config=host_config,
                stop_timeout=math.ceil(config.stop_timeout_s),
            )
            self._api.start(created["Id"])
        found = self.container(config.name)
        if found is None:
            raise PermanentError(f"{config.name} vanished right after its start")
        return found

    def remove(self, name: str, *, stop_timeout_s: float) -> None:
        """Stop (SIGTERM, then SIGKILL after ``stop_timeout_s``) and remove; gone is done."""
        with self._translated(f"remove {name}"):
            try:
                self._api.stop(name, timeout=math.ceil(stop_timeout_s))
                self._api.remove_container(name, force=True)
            except docker.errors.NotFound:
                return

    def logs(self, name: str, *, lines: int = 20) -> str:
        with self._translated(f"logs of {name}"):
            try:
                out = self._api.logs(name, tail=lines)
            except docker.errors.NotFound:
                return "(no container)"
        return out.decode(errors="replace") if isinstance(out, bytes) else str(out)

    def exec_in(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str], timeout_s: float
    ) -> tuple[int | None, str]:
        """Run ``argv`` in the running container ``name`` (``docker exec``), ``env`` added
        through the API — never on a command line: (its exit status, its output), or (None,
        why) when there is no such container or it ran past ``timeout_s``. A command that
        overran is killed when the engine is on this machine (the exec's PID is ours: the
        API has no call to stop an exec); on a remote engine it is left to finish."""
        with self._translated(f"exec in {name}"):
            try:
                created = self._api.exec_create(name, list(argv), environment=dict(env))
            except docker.errors.NotFound:
                return None, f"no container {name}"
        exec_id = str(created["Id"])
        done: dict[str, Any] = {}

        def run() -> None:
            try:
                done["output"] = self._api.exec_start(exec_id)
            except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                done["error"] = exc

        worker = threading.Thread(target=run, name=f"exec-{name}", daemon=True)
        worker.start()
        worker.join(timeout_s)
        with self._translated(f"exec in {name}"):
            info = self._api.exec_inspect(exec_id)
        if worker.is_alive() or info.get("Running"):
            pid = int(info.get("Pid") or 0)
            if pid > 0 and not self.remote:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            return None, f"timed out after {timeout_s:g}s"
        if "error" in done:
            return None, f"exec in {name} failed: {done['error']}"
        output = done.get("output", b"")
        text = output.decode(errors="replace") if isinstance(output, bytes) else str(output)
        code = info.get("ExitCode")
        return (int(code) if code is not None else None), text

    # images

    def image_id(self, reference: str) -> str | None:
        """The ID of the image ``reference`` names here, or None if it is not here."""
        with self._translated(f"inspect image {reference}"):
            try:
                data = self._api.inspect_image(reference)  # type: ignore[no-untyped-call]
                return str(data["Id"])
            except docker.errors.NotFound:  # ImageNotFound too
                return None

    def build(
        self,
        context: Path,
        *,
        dockerfile: str,
        tag: str,
        args: Mapping[str, str],
        labels: Mapping[str, str],
    ) -> str:
        """``docker build`` (RUN on the host's network); the new image's ID."""
        with self._translated(f"build {tag}"):
            stream = self._api.build(
                path=str(context),
                dockerfile=dockerfile,
                tag=tag,
                buildargs=dict(args),
                labels=dict(labels),
                network_mode="host",
                rm=True,
                forcerm=True,
                decode=True,
                timeout=BUILD_TIMEOUT_S,
            )
            log: list[str] = []
            for chunk in stream:
                log.append(str(chunk.get("stream", "")))
                if "error" in chunk:
                    tail = "".join(log)[-800:]
                    raise PermanentError(f"build {tag} failed: {chunk['error']}\n{tail}")
        found = self.image_id(tag)
        if found is None:
            raise PermanentError(f"build {tag}: no image came out of it")
        return found

    def registry_digest(self, reference: str, credentials: Credentials | None) -> str:
        """The manifest digest the registry serves for ``reference`` now (``sha256:…``)."""
        auth = credentials.auth_config() if credentials else None
        with self._translated(f"resolve {reference}"):
            data = self._api.inspect_distribution(  # type: ignore[no-untyped-call]
                reference, auth_config=auth
            )
        return str(data["Descriptor"]["digest"])

    def pull(self, repository: str, digest: str, credentials: Credentials | None) -> str:
        """Pull ``repository@digest``; the image's ID here."""
        auth = credentials.auth_config() if credentials else None
        reference = f"{repository}@{digest}"
        with self._translated(f"pull {reference}"):
            for chunk in self._api.pull(
                repository, tag=digest, stream=True, decode=True, auth_config=auth
            ):
                if "error" in chunk:
                    raise PermanentError(f"pull {reference}: {chunk['error']}")
        found = self.image_id(reference)
        if found is None:
            raise PermanentError(f"pull {reference}: the image is not here afterwards")
        return found

    def save(self, reference: str) -> Iterator[bytes]:
        """``docker save reference``: the image's archive, in chunks as the engine writes it."""
        with self._translated(f"save {reference}"):
            stream = self._api.get_image(reference, chunk_size=None)
        return _chunks(stream, self._translated(f"save {reference}"))

    def load(self, archive: Iterator[bytes], *, what: str) -> None:
        """``docker load`` of ``archive`` (streamed: never whole in memory)."""
        with self._translated(f"load {what}"):
            for chunk in self._api.load_image(archive):  # type: ignore[no-untyped-call]
                if "error" in chunk:
                    raise PermanentError(f"load {what}: {chunk['error']}")

    def remove_image(self, reference: str) -> bool:
        """Untag (and delete, if nothing else holds it) ``reference``; False if a container
        still uses it or it is not here."""
        with self._translated(f"remove image {reference}"):
            try:
                self._api.remove_image(reference)
            except docker.errors.NotFound:
                return False
            except docker.errors.APIError as exc:
                if exc.status_code == 409:  # in use by a container
                    return False
                raise
        return True


def _chunks(
    stream: Iterator[bytes], errors: contextlib.AbstractContextManager[None]
) -> Iterator[bytes]:
    """``stream``, with Docker's errors while it is read translated as anywhere else."""
    with errors:
        yield from stream


def _probe(host: str) -> None:
    """Connect to a unix socket first, and close it: the SDK leaks the socket of a connection
    that fails (dockerd stopped or restarting), so that case is found here instead."""
    if not host.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        probe.connect(host.removeprefix("unix://"))


def _container(data: Mapping[str, Any]) -> Container:
    state = data.get("State") or {}
    health = state.get("Health") or {}
    config = data.get("Config") or {}
    pid = int(state.get("Pid") or 0)
    return Container(
        id=str(data["Id"]),
        name=str(data.get("Name", "")).lstrip("/"),
        labels=dict(config.get("Labels") or {}),
        image=str(data.get("Image", "")),
        status=str(state.get("Status", "unknown")),
        health=str(health["Status"]) if health.get("Status") else None,
        pid=pid or None,
        restarts=int(data.get("RestartCount") or 0),
    )


def _volumes(specs: Sequence[str]) -> tuple[list[str], list[str]]:
    """``source:/target[:mode]`` → the binds of the host config and the volume targets."""
    binds = [spec if spec.count(":") == 2 else f"{spec}:rw" for spec in specs]
    return binds, [spec.split(":")[1] for spec in specs]
