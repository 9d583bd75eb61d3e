"""A Compose file read into a spec: what maps where, and that what cannot map is listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import UsageError
from slipway.spec.compose import from_compose

COMPOSE = """\
version: "3.8"
services:
  backend:
    build:
      context: ./backend
      dockerfile: Dockerfile.prod
      args: {APP_VERSION: "${TAG:-latest}", PIP_INDEX: "${PIP_INDEX}"}
    command: gunicorn shop.wsgi --bind 0.0.0.0:8000
    ports: ["127.0.0.1:8080:8000"]
    environment:
      DJANGO_SETTINGS_MODULE: shop.settings.prod
      SECRET_KEY:
    env_file: [.env.prod]
    volumes: [media:/srv/media, "./config:/etc/shop:ro", {type: tmpfs, target: /tmp}]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8000/health/"]
      interval: 1m30s
      retries: 4
    depends_on: [db, redis]
    restart: always
    stop_grace_period: 20s
    networks: [internal]
    container_name: shop-backend
    deploy: {replicas: 3}
  celery_worker:
    build: ./backend
    command: celery -A shop worker
    depends_on: [db, redis]
  celery_beat:
    build: ./backend
    command: celery -A shop beat
  db: {image: "postgres:15"}
  redis: {image: "redis:7"}
volumes: {media: {}}
networks: {internal: {}}
"""


def imported(tmp_path: Path, text: str = COMPOSE) -> object:
    path = tmp_path / "deploy" / "docker-compose.prod.yml"
    path.parent.mkdir()
    path.write_text(text)
    return from_compose(path, app="shop", spec_dir=tmp_path)


def test_the_web_service_becomes_the_spec(tmp_path: Path) -> None:
    found = imported(tmp_path)
    spec = found.spec  # type: ignore[attr-defined]
    assert found.web == "backend"  # type: ignore[attr-defined]
    assert spec["release"]["image"] == {
        "build": {
            "context": "deploy/backend",
            "dockerfile": "Dockerfile.prod",
            "args": {"APP_VERSION": "{version}", "PIP_INDEX": "${PIP_INDEX}"},
        }
    }
    assert spec["process"] == {
        "command": ["gunicorn", "shop.wsgi", "--bind", "0.0.0.0:8000"],
        "env": {"DJANGO_SETTINGS_MODULE": "shop.settings.prod"},
        "stop_timeout_s": 20.0,
    }
    assert spec["health"] == {
        "check": {"type": "http", "path": "/health/"},
        "interval_s": 90.0,
        "unhealthy_threshold": 4,
    }
    production = spec["environments"]["production"]
    assert production["router"] == {"type": "haproxy", "listen": "127.0.0.1:8080"}
    assert production["instances"] == {"count": 3, "base_port": 8000}
    assert production["targets"] == [
        {
            "type": "docker",
            "restart": "always",
            "volumes": ["media:/srv/media", "./deploy/config:/etc/shop:ro"],
        }
    ]


def test_what_cannot_be_mapped_is_listed(tmp_path: Path) -> None:
    found = imported(tmp_path)
    listed = "\n".join(found.unmapped)  # type: ignore[attr-defined]
    assert found.workers == ["celery_worker", "celery_beat"]  # type: ignore[attr-defined]
    assert found.dependencies == ["db", "redis"]  # type: ignore[attr-defined]
    for words in (
        "services.db: a dependency of backend",
        "services.backend.networks: not mapped",
        "services.backend.container_name: not mapped",
        "environment.SECRET_KEY: taken from the shell",
        "env_file .env.prod: not copied",
        "tmpfs",
        "${PIP_INDEX} is Compose's interpolation",
        "must listen on $PORT",
    ):
        assert words in listed, words


def test_a_pulled_image_and_a_dockerfile_cmd(tmp_path: Path) -> None:
    text = """\
services:
  web:
    image: "registry.example:5000/shop:${TAG}"
    ports: ["8080:8000"]
"""
    spec = imported(tmp_path, text).spec  # type: ignore[attr-defined]
    assert spec["release"]["image"] == {"name": "registry.example:5000/shop:{version}"}
    assert spec["process"]["command"][:2] == ["sh", "-c"]  # no command anywhere: listed
    assert spec["environments"]["production"]["router"]["listen"] == "0.0.0.0:8080"
    (tmp_path / "deploy" / "app").mkdir()
    (tmp_path / "deploy" / "app" / "Dockerfile").write_text('FROM x\nCMD ["python3", "app.py"]\n')
    built = text.replace('image: "registry.example:5000/shop:${TAG}"', "build: app")
    (tmp_path / "deploy" / "docker-compose.prod.yml").write_text(built)
    again = from_compose(
        tmp_path / "deploy" / "docker-compose.prod.yml", app="s", spec_dir=tmp_path
    )
    assert again.spec["process"]["command"] == ["python3", "app.py"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("services: {worker: {image: x}}\n", "no service publishes a port"),
        ("version: '3'\n", "has no `services:`"),
        ("services: [a\n", "is not YAML"),
    ],
)
def test_a_compose_file_that_cannot_be_read_is_a_usage_error(
    tmp_path: Path, text: str, words: str
) -> None:
    with pytest.raises(UsageError, match=words.replace("$", r"\$")):
        imported(tmp_path, text)


def test_workers_of_the_same_image_become_roles_and_beat_a_singleton(tmp_path: Path) -> None:
    found = imported(tmp_path)
    roles = found.spec["roles"]  # type: ignore[attr-defined]
    assert roles == {
        "celeryworker": {"command": ["celery", "-A", "shop", "worker"]},
        "celerybeat": {"command": ["celery", "-A", "shop", "beat"], "singleton": True},
    }
    text = found.text("docker-compose.prod.yml")  # type: ignore[attr-defined]
    assert "# Service 'celery_worker' as the role 'celeryworker' (no traffic)." in text


def test_a_worker_of_another_image_or_without_command_is_listed(tmp_path: Path) -> None:
    text = COMPOSE.replace(
        "  celery_beat:\n    build: ./backend\n    command: celery -A shop beat\n",
        "  celery_beat:\n    image: other/beat:1\n    command: celery beat\n"
        "  flower:\n    build: ./backend\n    deploy: {replicas: 2}\n",
    )
    found = imported(tmp_path, text)
    listed = "\n".join(found.unmapped)  # type: ignore[attr-defined]
    assert "services.celery_beat: a worker of another image" in listed
    assert "services.flower: no command: a role needs one" in listed
    assert list(found.spec["roles"]) == ["celeryworker"]  # type: ignore[attr-defined]


def test_a_role_keeps_replicas_grace_environment_and_its_healthcheck(tmp_path: Path) -> None:
    text = COMPOSE.replace(
        "  celery_worker:\n    build: ./backend\n    command: celery -A shop worker\n",
        "  celery_worker:\n    build: ./backend\n    command: celery -A shop worker\n"
        "    deploy: {replicas: 4}\n    stop_grace_period: 2m\n"
        "    environment: {QUEUE: default}\n"
        "    healthcheck: {test: [CMD-SHELL, celery -A shop inspect ping]}\n",
    )
    found = imported(tmp_path, text)
    assert found.spec["roles"]["celeryworker"] == {  # type: ignore[attr-defined]
        "command": ["celery", "-A", "shop", "worker"],
        "count": 4,
        "env": {"QUEUE": "default"},
        "stop_timeout_s": 120.0,
        "check": {"command": ["sh", "-c", "celery -A shop inspect ping"]},
    }
