"""Deploying images pulled by digest from a real registry with basic auth: the digest the
registry served is the release's, and the password reaches neither output nor state."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from slipway.containers.engine import Engine
from slipway.spec import load_spec
from slipway.store import Store
from tests.conftest import stop_environment
from tests.containers.test_images import built, push
from tests.engine.test_crash import assert_consistent
from tests.support.dockerd import Dockerd
from tests.support.registry import Registry
from tests.support.sample_docker import write_docker_spec

SLIPWAY = [sys.executable, "-m", "slipway"]
PULLED = """\
  image:
    name: "{address}/{repo}:{{version}}"
    username_env: REG_USER
    password_env: REG_PASSWORD"""


def test_images_pulled_by_digest_from_a_registry_with_credentials(
    dockerd: Dockerd, registry: Registry, tmp_path: Path
) -> None:
    repo = f"shop-{secrets.token_hex(3)}"
    engine = Engine(dockerd.host)
    try:
        made = built(tmp_path / "build", engine)
        digests = {
            v: push(dockerd, registry, str(made.prepare(v).image), f"{registry.address}/{repo}:{v}")
            for v in ("v1", "v2")
        }
    finally:
        engine.close()
    image = PULLED.format(address=registry.address, repo=repo)
    spec = write_docker_spec(tmp_path, docker_host=dockerd.host, image=image)
    environ = {**os.environ, "REG_USER": registry.username, "REG_PASSWORD": registry.password}
    try:
        without = subprocess.run(
            [*SLIPWAY, "deploy", "-f", str(spec), "--version", "v1"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert without.returncode == 2 and "REG_PASSWORD" in without.stderr
        outputs = ""
        for version in ("v1", "v2"):
            result = subprocess.run(
                [*SLIPWAY, "deploy", "-f", str(spec), "--version", version],
                capture_output=True, text=True, timeout=180, env=environ,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
            outputs += result.stdout + result.stderr
        assert_consistent(spec, "v2")
        store = Store.for_state_dir(tmp_path / "state")
        try:
            current = store.current("shop", "test")
            assert current is not None and current.release_digest == digests["v2"]
        finally:
            store.close()
        pulled = dockerd.cli("images", "--digests", "--format", "{{.Repository}}@{{.Digest}}")
        assert f"{registry.address}/{repo}@{digests['v2']}" in pulled.stdout.decode()
        assert registry.password not in outputs
        for path in (tmp_path / "state").rglob("*"):
            if path.is_file():
                assert registry.password.encode() not in path.read_bytes(), path
    finally:
        stop_environment(load_spec(spec).environment("test"))
