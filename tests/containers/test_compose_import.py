"""`slipway init --from-compose`: a Compose file of web + worker + beat + redis becomes a spec
whose web service, worker and beat are deployed as containers (rolling v1 → v2), redis listed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slipway.spec import load_spec
from tests.conftest import stop_environment
from tests.support.dockerd import PYTHON, Dockerd
from tests.support.sample import free_port_range
from tests.support.sample_docker import APP_DIR

SLIPWAY = [sys.executable, "-m", "slipway"]
COMPOSE = """\
services:
  web:
    build:
      context: {context}
      args: {{VERSION: "${{TAG:-v1}}", BASE: {base_image}}}
    command: python3 server.py
    ports: ["127.0.0.1:{listen}:{base}"]
    environment: {{APP_ENV: production}}
    healthcheck:
      test: ["CMD", "python3", "-c", "import urllib.request as u; u.urlopen('http://localhost:{base}/health')"]
      interval: 100ms
      retries: 3
    stop_grace_period: 5s
    deploy: {{replicas: 3}}
    depends_on: [redis]
  worker:
    build: {{context: {context}}}
    command: python3 -c "import time; time.sleep(1e9)"
    depends_on: [redis]
  beat:
    build: {{context: {context}}}
    command: python3 -c "import time; time.sleep(1e9)"
  redis:
    image: "redis:7"
"""


def test_a_compose_file_imported_then_deployed(
    dockerd: Dockerd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = free_port_range(7)
    compose = tmp_path / "docker-compose.prod.yml"
    compose.write_text(
        COMPOSE.format(context=APP_DIR, base_image=PYTHON, listen=base + 6, base=base)
    )
    spec = tmp_path / "slipway.yaml"
    made = subprocess.run(
        [*SLIPWAY, "init", "-f", str(spec), "--app", "shop", "--from-compose", str(compose)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert "service web as web" in made.stdout
    assert "services.redis: a dependency" in made.stdout
    text = spec.read_text()
    assert "#   - services.redis: a dependency" in text  # and in the file, for the next reader
    assert "# Service 'worker' as the role 'worker' (no traffic)." in text
    assert "# Service 'beat' as the role 'beat' (no traffic)." in text
    # the generated spec names the environment `production`; deployed on the test's engine
    environ = {**os.environ, "DOCKER_HOST": dockerd.host}
    try:
        for version in ("v1", "v2"):
            result = subprocess.run(
                [*SLIPWAY, "deploy", "-f", str(spec), "--version", version],
                capture_output=True, text=True, timeout=180, env=environ,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
        status = subprocess.run(
            [*SLIPWAY, "status", "-f", str(spec), "-o", "json"],
            capture_output=True, text=True, timeout=60, env=environ,
        )  # fmt: skip
        assert '"version": "v2"' in status.stdout
        names = dockerd.cli("ps", "--format", "{{.Names}}").stdout.decode().split()
        web = [f"shop-production-web-{i}_b" for i in (1, 2, 3)]
        roles = ["shop-production-beat-1_b", "shop-production-worker-1_b"]
        assert sorted(names) == sorted(web + roles)  # the workers too, as containers
    finally:
        monkeypatch.setenv("DOCKER_HOST", dockerd.host)  # where the teardown finds containers
        stop_environment(load_spec(spec).environment("production"))
