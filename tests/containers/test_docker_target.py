"""The docker target against a real Docker engine: one container per slot, named and labelled,
read back from Docker, replaced and stopped idempotently; Docker's errors as Slipway's."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.backends.images import ImageReleases
from slipway.containers.engine import Engine
from slipway.errors import BackendError, PermanentError
from slipway.spec.release import ImageBuildSpec, ImageSpec
from slipway.spec.targets import DockerTargetSpec
from slipway.targets.base import InstanceSpec
from slipway.targets.docker import DockerTarget
from tests.support.dockerd import BUSYBOX, PYTHON, Dockerd
from tests.support.sample import free_port_range
from tests.support.sample_docker import APP_DIR


@pytest.fixture
def engine(dockerd: Dockerd) -> Iterator[Engine]:
    client = Engine(dockerd.host)
    try:
        yield client
    finally:
        client.close()


def images(tmp_path: Path, engine: Engine) -> ImageReleases:
    spec = ImageSpec(
        build=ImageBuildSpec(context=str(APP_DIR), args={"VERSION": "{version}", "BASE": PYTHON})
    )
    return ImageReleases(
        tmp_path / "releases", engine=engine, spec=spec, spec_root=tmp_path, app="shop"
    )


def target(engine: Engine, *, volumes: list[str] | None = None) -> DockerTarget:
    spec = DockerTargetSpec(type="docker", docker_host=engine.host)
    return DockerTarget(
        "docker", engine, app="shop", environment="test", spec=spec, volumes=volumes or []
    )


def instance(image: str, version: str, port: int, slot: str = "web-1_a") -> InstanceSpec:
    return InstanceSpec(
        slot=slot,
        port=port,
        version=version,
        release_dir=Path("/"),
        command=["python3", "server.py"],
        env={"GREETING": '\'a "quoted", 100% value, $HOME `id`'},
        stop_timeout_s=5,
        image=image,
        deployment="dep-1",
    )


def answer(port: int) -> httpx.Response:
    deadline = time.monotonic() + 15
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_slot_is_one_labelled_container_on_its_port(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    v1 = images(tmp_path, engine).prepare("v1")
    docker = target(engine)
    port = free_port_range(1)
    docker.start(instance(str(v1.image), "v1", port))
    assert answer(port).json()["version"] == "v1"
    [state] = docker.instances()
    assert (state.slot, state.port, state.version, state.running) == ("web-1_a", port, "v1", True)
    assert state.state == "RUNNING" and state.pid


def test_container_labels_env_and_init(dockerd: Dockerd, engine: Engine, tmp_path: Path) -> None:
    v1 = images(tmp_path, engine).prepare("v1")
    port = free_port_range(1)
    target(engine).start(instance(str(v1.image), "v1", port))
    answer(port)
    with contextlib.closing(dockerd.client()) as client:
        seen = client.api.inspect_container("shop-test-web-1_a")
    assert seen["Config"]["Labels"] == {
        "slipway.app": "shop",
        "slipway.environment": "test",
        "slipway.version": "v1",
        "slipway.slot": "web-1_a",
        "slipway.port": str(port),
        "slipway.deployment": "dep-1",
        "slipway.stop_timeout_s": "5",
    }
    env = dict(e.split("=", 1) for e in seen["Config"]["Env"])
    assert env["GREETING"] == '\'a "quoted", 100% value, $HOME `id`'
    assert (env["PORT"], env["SLIPWAY_VERSION"], env["SLIPWAY_SLOT"]) == (
        str(port),
        "v1",
        "web-1_a",
    )
    host = seen["HostConfig"]
    assert host["NetworkMode"] == "host" and host["Init"] is True
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert seen["Config"]["StopTimeout"] == 5


def test_start_is_idempotent_and_replaces_another_version(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    releases = images(tmp_path, engine)
    v1, v2 = releases.prepare("v1"), releases.prepare("v2")
    docker = target(engine)
    port = free_port_range(1)
    docker.start(instance(str(v1.image), "v1", port))
    first = engine.container("shop-test-web-1_a")
    docker.start(instance(str(v1.image), "v1", port))  # same release: nothing happens
    again = engine.container("shop-test-web-1_a")
    assert first is not None and again is not None and again.id == first.id
    docker.start(instance(str(v2.image), "v2", port))
    replaced = engine.container("shop-test-web-1_a")
    assert replaced is not None and replaced.id != first.id and replaced.image == v2.image
    assert answer(port).json()["version"] == "v2"
    docker.stop("web-1_a")
    docker.stop("web-1_a")  # already gone: nothing to do
    assert docker.instances() == []


def test_stop_sends_sigterm_through_init_and_the_app_drains(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    """With --init the app (no PID 1) gets SIGTERM and exits at once, not after the timeout."""
    v1 = images(tmp_path, engine).prepare("v1")
    docker = target(engine)
    port = free_port_range(1)
    docker.start(instance(str(v1.image), "v1", port))
    answer(port)
    began = time.monotonic()
    docker.stop("web-1_a")
    assert time.monotonic() - began < 4.5  # the stop timeout is 5 s: it never came to SIGKILL
    assert engine.container("shop-test-web-1_a") is None


def test_a_container_that_cannot_start_is_a_permanent_error_with_its_log(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    bad = InstanceSpec(
        slot="web-1_a", port=free_port_range(1), version="v1", release_dir=Path("/"),
        command=["/no/such/program"], image=engine.image_id(BUSYBOX),
    )  # fmt: skip
    with pytest.raises(PermanentError, match="no/such/program"):
        target(engine).start(bad)


def test_the_images_healthcheck_is_shown_in_the_state(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f'FROM {BUSYBOX}\nHEALTHCHECK --interval=1s CMD true\nCMD ["sleep", "600"]\n'
    )
    image = engine.build(context, dockerfile="Dockerfile", tag="hc:1", args={}, labels={})
    docker = target(engine)
    spec = InstanceSpec(slot="web-1_a", port=free_port_range(1), version="v1",
                        release_dir=Path("/"), command=[], image=image)  # fmt: skip
    docker.start(spec)
    deadline = time.monotonic() + 20
    while docker.instances()[0].state != "RUNNING (healthy)":
        assert time.monotonic() < deadline, docker.instances()
        time.sleep(0.2)


def test_volumes_relative_to_the_spec_are_mounted(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("from the host\n")
    docker = target(engine, volumes=[f"{data}:/data:ro"])
    spec = InstanceSpec(slot="web-1_a", port=free_port_range(1), version="v1",
                        release_dir=Path("/"), command=["sh", "-c", "cat /data/hello.txt; sleep 600"],
                        image=engine.image_id(BUSYBOX))  # fmt: skip
    docker.start(spec)
    deadline = time.monotonic() + 10
    while "from the host" not in engine.logs("shop-test-web-1_a"):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_an_engine_that_does_not_answer_is_a_backend_error(tmp_path: Path) -> None:
    """Retried by the engine like a supervisord still starting (a dockerd restarting)."""
    engine = Engine(f"unix://{tmp_path}/no-docker.sock")
    try:
        with pytest.raises(BackendError, match="does not answer"):
            target(engine).instances()
        with pytest.raises(BackendError, match="does not answer"):
            engine.ping()
    finally:
        engine.close()
