"""The docker target and image releases in slipway.yaml: what loads, and what is refused with
file:line:column and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.redact import SECRETS
from slipway.spec import load_spec
from slipway.spec.targets import DockerTargetSpec

TARGET = """\
      - type: docker
        docker_host: unix:///run/docker.sock
        volumes: [uploads:/srv/uploads, ./config:/etc/shop:ro]
"""
GOOD = """\
version: 1
app: shop
release:
  image:
    name: "127.0.0.1:25000/shop:{version}"
    username_env: REGISTRY_USER
    password_env: REGISTRY_PASSWORD
process:
  command: [python3, server.py]
environments:
  production:
    router: {type: haproxy, listen: "127.0.0.1:8080"}
    instances: {count: 3, base_port: 9101}
    targets:
      - type: docker
        docker_host: unix:///run/docker.sock
        volumes: [uploads:/srv/uploads, ./config:/etc/shop:ro]
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "slipway.yaml"
    path.write_text(text)
    return load_spec(path)


def test_a_docker_environment_loads(tmp_path: Path) -> None:
    env = load(tmp_path, GOOD).environment("production")  # type: ignore[attr-defined]
    [target] = env.targets
    assert isinstance(target, DockerTargetSpec)
    assert (target.restart, target.init, target.network) == ("unless-stopped", True, "host")
    assert env.release.image.name == "127.0.0.1:25000/shop:{version}"


def test_the_registry_password_is_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_PASSWORD", "hunter2-secret")
    env = load(tmp_path, GOOD).environment("production")  # type: ignore[attr-defined]
    assert env.secret_variables()["REGISTRY_PASSWORD"] == "value"
    assert SECRETS.text("login with hunter2-secret failed") == "login with *** failed"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (TARGET, "      - type: local\n", "a release image needs a docker target"),
        ("    password_env: REGISTRY_PASSWORD\n", "", "both `username_env` and `password_env`"),
        ("unix:///run/docker.sock", "/run/docker.sock", "not a Docker engine address"),
        ("uploads:/srv/uploads", "uploads", "is not a volume"),
        ("127.0.0.1:25000/shop:{version}", "Shop Image", "is not allowed here"),
        ("        docker_host: unix:///run/docker.sock\n", "        network: bridge\n", "'host'"),
    ],
)
def test_mistakes_are_refused_with_a_location(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    assert old in GOOD
    with pytest.raises(SpecError, match=r"slipway.yaml:[0-9]+:[0-9]+") as refused:
        load(tmp_path, GOOD.replace(old, new)).environment("production")  # type: ignore[attr-defined]
    assert words in str(refused.value)


def test_a_docker_target_needs_an_image(tmp_path: Path) -> None:
    text = GOOD.replace(
        """  image:
    name: "127.0.0.1:25000/shop:{version}"
    username_env: REGISTRY_USER
    password_env: REGISTRY_PASSWORD
""",
        "  path: releases/{version}\n",
    )
    with pytest.raises(SpecError, match="the release must be an image"):
        load(tmp_path, text)


FLEET = """\
version: 1
app: shop
release:
  image: {build: {context: .}}
process:
  command: [python3, server.py]
environments:
  production:
    router: {type: haproxy, host: lb1, listen: "127.0.0.1:8080"}
    instances: {per_host: 1, base_port: 9101}
    targets:
      - type: ssh
        runtime: docker
        select: web
        deploy_to: /srv/shop
        docker: {socket: /run/docker.sock, volumes: [uploads:/srv/uploads]}
        hosts:
          web1: {address: 127.0.0.1, groups: [web]}
          lb1: {address: 127.0.0.1, groups: [lb]}
"""


def test_a_fleet_of_containers_loads(tmp_path: Path) -> None:
    env = load(tmp_path, FLEET).environment("production")  # type: ignore[attr-defined]
    [target] = env.targets
    assert (target.runtime, target.docker.socket) == ("docker", "/run/docker.sock")
    assert target.docker.volumes == ["uploads:/srv/uploads"] and target.docker.init


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("        runtime: docker\n", "", "`docker` needs `runtime: docker`"),
        ("uploads:/srv/uploads", "./uploads:/srv/uploads", "means nothing on a fleet host"),
        ("/run/docker.sock", "run/docker sock", "is not allowed here"),
        (
            "        deploy_to: /srv/shop\n",
            "        deploy_to: /srv/shop\n        service: {type: systemd}\n",
            "with `runtime: docker`, leave it out",
        ),
        (
            "        deploy_to: /srv/shop\n",
            "        deploy_to: /srv/shop\n        linked_dirs: [media]\n",
            "containers take `docker.volumes` instead",
        ),
    ],
)
def test_fleet_mistakes_are_refused_with_a_location(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    assert old in FLEET
    with pytest.raises(SpecError, match=r"slipway.yaml:[0-9]+:[0-9]+") as refused:
        load(tmp_path, FLEET.replace(old, new)).environment("production")  # type: ignore[attr-defined]
    assert words in str(refused.value)


def test_an_image_needs_the_docker_runtime_and_files_the_process_one(tmp_path: Path) -> None:
    text = FLEET.replace("        runtime: docker\n", "").replace(
        "        docker: {socket: /run/docker.sock, volumes: [uploads:/srv/uploads]}\n", ""
    )
    with pytest.raises(SpecError, match="a release image needs a docker target"):
        load(tmp_path, text)
    (tmp_path / "releases").mkdir()
    text = text.replace("  image: {build: {context: .}}\n", "  path: releases/{version}\n")
    env = load(tmp_path, text).environment("production")  # type: ignore[attr-defined]
    assert env.targets[0].runtime == "process"
