"""A real image registry for tests: Debian's ``docker-registry`` (distribution 2.8) on
loopback, with basic auth from an htpasswd file, its storage in a temp dir, stopped by PID.

Docker treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default, so no TLS is
needed; credentials are checked for real — a wrong password is refused as in production.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.sample import free_port_range

REGISTRY = "/usr/bin/docker-registry"
START_TIMEOUT_S = 20.0

CONFIG = """\
version: 0.1
log: {{level: warn}}
storage:
  filesystem: {{rootdirectory: "{root}/data"}}
  delete: {{enabled: true}}
http:
  addr: "{host}:{port}"
  secret: "{secret}"
auth:
  htpasswd: {{realm: slipway-test, path: "{root}/htpasswd"}}
"""


@dataclass(frozen=True)
class Registry:
    root: Path
    port: int
    username: str
    password: str
    host: str = "127.0.0.1"

    @property
    def address(self) -> str:
        """``HOST:PORT``: the start of an image reference in this registry."""
        return f"{self.host}:{self.port}"

    def answers(self) -> bool:
        try:
            urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1)
        except urllib.error.HTTPError as exc:
            return exc.code == 401  # up, and asking for credentials
        except OSError:
            return False
        return False  # answered without asking: auth is not on


@contextlib.contextmanager
def running_registry(host: str = "127.0.0.1") -> Iterator[Registry]:
    """A registry on ``host`` (loopback; or a test bridge's address, for test hosts)."""
    if not Path(REGISTRY).exists():
        pytest.fail("docker-registry is not installed: run `make system`")
    root = Path(tempfile.mkdtemp(prefix="slipway-registry-"))
    password = "pw-" + secrets.token_urlsafe(12)
    registry = Registry(root, free_port_range(1), "deployer", password, host)
    hashed = subprocess.run(
        ["htpasswd", "-Bbn", registry.username, registry.password],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    (root / "htpasswd").write_text(hashed)
    config = root / "config.yml"
    config.write_text(
        CONFIG.format(root=root, host=host, port=registry.port, secret=secrets.token_hex(16))
    )
    with (root / "registry.log").open("wb") as log:
        process = subprocess.Popen(
            [REGISTRY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not registry.answers():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((root / "registry.log").read_text()[-2000:])
            time.sleep(0.05)
        yield registry
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """One registry per test session (per xdist worker); tests push under their own names."""
    with running_registry() as found:
        yield found
