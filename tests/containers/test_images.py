"""Releases as images against a real engine and a real registry (basic auth): the image's
digest is the release's, a pull is by digest with the credentials the spec names, the last
``keep`` stay and older ones are pruned."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.backends.images import ImageReleases, repository_of
from slipway.containers.engine import Engine
from slipway.errors import PermanentError, UsageError
from slipway.spec.release import ImageBuildSpec, ImageSpec
from tests.support.dockerd import BUSYBOX, PYTHON, Dockerd
from tests.support.registry import Registry
from tests.support.sample_docker import APP_DIR


@pytest.fixture
def engine(dockerd: Dockerd) -> Iterator[Engine]:
    client = Engine(dockerd.host)
    try:
        yield client
    finally:
        client.close()


def built(tmp_path: Path, engine: Engine) -> ImageReleases:
    spec = ImageSpec(
        build=ImageBuildSpec(context=str(APP_DIR), args={"VERSION": "{version}", "BASE": PYTHON})
    )
    return ImageReleases(
        tmp_path / "releases", engine=engine, spec=spec, spec_root=tmp_path, app="shop"
    )


def push(dockerd: Dockerd, registry: Registry, source: str, reference: str) -> str:
    """Tag ``source`` as ``reference`` and push it with the registry's credentials: its digest."""
    repository, tag = reference.rsplit(":", 1)
    auth = {"username": registry.username, "password": registry.password}
    with contextlib.closing(dockerd.client()) as client:
        client.api.tag(source, repository, tag)
        for chunk in client.api.push(repository, tag, stream=True, decode=True, auth_config=auth):
            assert "error" not in chunk, chunk
        data = client.api.inspect_distribution(reference, auth_config=auth)
    return str(data["Descriptor"]["digest"])


def test_a_built_release_is_its_image_and_is_prepared_once(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    releases = built(tmp_path, engine)
    v1 = releases.prepare("v1")
    assert v1.image is not None and v1.digest == v1.image and v1.digest.startswith("sha256:")
    assert engine.image_id("shop:v1") == v1.image
    assert releases.prepare("v1") == v1  # recorded: not built again
    assert releases.get("v1") == v1
    engine.remove_image("shop:v1")  # Docker lost it (a wiped data root): made again
    assert releases.get("v1") is None
    again = releases.prepare("v1")
    assert engine.image_id("shop:v1") == again.image


def test_the_last_keep_stay_and_older_images_are_pruned(
    dockerd: Dockerd, engine: Engine, tmp_path: Path
) -> None:
    releases = built(tmp_path, engine)
    made = {v: releases.prepare(v) for v in ("v1", "v2", "v3", "v4")}
    releases.link_current("v4")
    assert releases.current() == "v4"
    assert releases.prune(keep=2, protect={"v1"}) == ["v2"]  # v1 is in use: kept
    assert releases.versions() == ["v1", "v3", "v4"]
    assert engine.image_id("shop:v2") is None
    assert engine.image_id("shop:v3") == made["v3"].image


def test_a_missing_dockerfile_is_a_usage_error(engine: Engine, tmp_path: Path) -> None:
    spec = ImageSpec(build=ImageBuildSpec(context="nowhere"))
    releases = ImageReleases(tmp_path / "r", engine=engine, spec=spec, spec_root=tmp_path, app="a")
    with pytest.raises(UsageError, match="Dockerfile does not exist"):
        releases.check_source("v1")


def test_a_failing_build_is_a_permanent_error_with_its_output(
    engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo about to fail && false\n")
    spec = ImageSpec(build=ImageBuildSpec())
    releases = ImageReleases(tmp_path / "r", engine=engine, spec=spec, spec_root=tmp_path, app="a")
    with pytest.raises(PermanentError, match=r"(?s)build a:v1 failed.*about to fail"):
        releases.prepare("v1")


def pulled(
    tmp_path: Path, engine: Engine, registry: Registry, repo: str, **environ: str
) -> ImageReleases:
    spec = ImageSpec(
        name=f"{registry.address}/{repo}:{{version}}",
        username_env="REG_USER",
        password_env="REG_PASSWORD",
    )
    return ImageReleases(
        tmp_path / "releases", engine=engine, spec=spec, spec_root=tmp_path, app="shop",
        environ=environ,
    )  # fmt: skip


def test_a_named_image_is_pulled_by_the_digest_resolved_once(
    dockerd: Dockerd, engine: Engine, registry: Registry, tmp_path: Path
) -> None:
    repo = f"shop-{secrets.token_hex(3)}"
    app = built(tmp_path / "b", engine).prepare("v1")
    digest = push(dockerd, registry, str(app.image), f"{registry.address}/{repo}:v1")
    engine.remove_image(f"{registry.address}/{repo}:v1")
    releases = pulled(
        tmp_path, engine, registry, repo, REG_USER=registry.username, REG_PASSWORD=registry.password
    )
    releases.check_source("v1")
    v1 = releases.prepare("v1")
    assert v1.digest == digest
    assert engine.image_id(f"{registry.address}/{repo}@{digest}") == v1.image
    # the tag moves on in the registry: the release stays the image that was resolved
    push(dockerd, registry, BUSYBOX, f"{registry.address}/{repo}:v1")
    assert releases.prepare("v1") == v1


def test_credentials_are_checked_by_the_registry(
    dockerd: Dockerd, engine: Engine, registry: Registry, tmp_path: Path
) -> None:
    repo = f"shop-{secrets.token_hex(3)}"
    push(dockerd, registry, BUSYBOX, f"{registry.address}/{repo}:v1")
    wrong = pulled(
        tmp_path, engine, registry, repo, REG_USER=registry.username, REG_PASSWORD="nope"
    )
    with pytest.raises(PermanentError, match=r"Docker at .* refused") as refused:
        wrong.prepare("v1")
    assert "nope" not in str(refused.value)
    unset = pulled(tmp_path, engine, registry, repo, REG_USER=registry.username)
    with pytest.raises(UsageError, match="REG_PASSWORD"):
        unset.check_source("v1")


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("shop:v1", "shop"),
        ("127.0.0.1:25000/shop:v1", "127.0.0.1:25000/shop"),
        ("127.0.0.1:25000/team/shop", "127.0.0.1:25000/team/shop"),
        ("registry.local/shop@sha256:abc", "registry.local/shop"),
    ],
)
def test_repository_of_a_reference(reference: str, repository: str) -> None:
    assert repository_of(reference) == repository
