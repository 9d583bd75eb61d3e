"""A fleet of containers deploying images from a real registry (basic auth) on the test bridge:
each host pulls ``repository@digest`` itself, the first one resolves the digest, and this
machine needs no Docker engine at all (``DOCKER_HOST`` points at nothing)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from slipway.containers.engine import Engine as DockerEngine
from tests.containers.test_fleet_containers import fleet_engine, serving
from tests.containers.test_images import built
from tests.support.dockerd import DOCKER, Dockerd
from tests.support.host_docker import (
    SOCKET,
    containers_on,
    docker_on,
    start_host_dockerd,
    write_docker_fleet_spec,
)
from tests.support.hosts import TestFleet, TestHost
from tests.support.registry import Registry, running_registry

pytestmark = pytest.mark.timeout(600)
PULLED = """\
  image:
    name: "{address}/{repo}:{{version}}"
    username_env: REG_USER
    password_env: REG_PASSWORD"""


def push_from(host: TestHost, registry: Registry, archive: Path, repo: str) -> dict[str, str]:
    """Load the sample app's images into ``host``, push them to ``registry`` from there (this
    machine's engine may not reach a registry off loopback over plain HTTP), then remove them
    from the host again: version → the digest the registry serves."""
    docker = shlex.join([DOCKER, "-H", f"unix://{SOCKET}", "--config", "/tmp/docker-config"])
    script = [f"{docker} load -i /tmp/{archive.name} >/dev/null"]
    script.append(
        f"printf %s {shlex.quote(registry.password)} | {docker} login -u "
        f"{shlex.quote(registry.username)} --password-stdin {registry.address} >/dev/null"
    )
    for version in ("v1", "v2"):
        reference = f"{registry.address}/{repo}:{version}"
        script += [
            f"{docker} tag shop:{version} {reference}",
            f"{docker} push {reference} >/dev/null",
        ]
    host.run_inside("set -e\n" + "\n".join(script))
    digests = {}
    for version in ("v1", "v2"):
        reference = f"{registry.address}/{repo}:{version}"
        found = docker_on(
            host, "image", "inspect", "--format", "{{index .RepoDigests 0}}", reference
        )
        digests[version] = found.strip().split("@", 1)[1]
    host.run_inside(
        f"{docker} logout {registry.address} >/dev/null; {docker} system prune -af >/dev/null; {docker} rmi -f $({docker} images -q) 2>/dev/null || true"
    )
    return digests


def test_each_host_pulls_the_release_by_digest_and_this_machine_needs_no_engine(
    make_hosts: Callable[..., TestFleet], docker_engine: Dockerd, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    fleet = make_hosts(3)
    h1, h2, _ = fleet.hosts
    assert fleet.gateway is not None, "needs network-namespace test hosts"
    with running_registry(fleet.gateway) as registry:
        for host in (h1, h2):
            start_host_dockerd(host, insecure_registries=[registry.address])
        engine = DockerEngine(docker_engine.host)
        try:
            made = built(tmp_path / "build", engine)
            for version in ("v1", "v2"):
                made.prepare(version)
        finally:
            engine.close()
        archive = h1.directory / "tmp" / "shop.tar"
        docker_engine.cli("save", "-o", str(archive), "shop:v1", "shop:v2")
        digests = push_from(h1, registry, archive, "shop-fleet")
        assert docker_on(h1, "images", "-q").strip() == ""  # h1 has to pull, as h2 does

        spec = tmp_path / "app" / "slipway.yaml"
        spec.parent.mkdir()
        write_docker_fleet_spec(spec.parent, fleet)
        text = spec.read_text()
        start, end = text.index("  image:\n"), text.index("  keep: 3\n")
        pulled = PULLED.format(address=registry.address, repo="shop-fleet") + "\n"
        spec.write_text(text[:start] + pulled + text[end:])
        monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine-here.sock")
        monkeypatch.setenv("REG_USER", registry.username)
        monkeypatch.setenv("REG_PASSWORD", registry.password)
        for version in ("v1", "v2"):
            with fleet_engine(spec) as slipway:
                outcome = slipway.deploy(version)
                assert outcome.exit_code == 0, outcome.deployment.reason
                assert set(serving(slipway).values()) == {version}
                current = slipway.store.current("shop", "test")
                assert current is not None and current.release_digest == digests[version]
        for host in (h1, h2):
            pulled_there = docker_on(
                host, "images", "--digests", "--format", "{{.Repository}}@{{.Digest}}"
            )
            assert f"{registry.address}/shop-fleet@{digests['v2']}" in pulled_there
            assert set(containers_on(host).values()) == {"v2"}
            # the credentials went in the API calls: nothing was written on the host
            assert not (host.directory / "root" / ".docker" / "config.json").exists()
        for path in (spec.parent / "state").rglob("*"):
            if path.is_file():
                assert registry.password.encode() not in path.read_bytes(), path
