"""The Django shop end to end: real PostgreSQL, Redis, gunicorn, Celery workers and beat,
HAProxy and supervisord, driven by the spec `slipway init --preset django` wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.spec import load_spec
from tests.conftest import stop_environment
from tests.support.django import Shop, bandit, make_shop, venv_cache
from tests.support.redis import RedisServer, redis_server

__all__ = ["bandit", "redis_server", "venv_cache"]


@pytest.fixture
def shop(
    tmp_path: Path, venv_cache: Path, database_url: str, redis_server: RedisServer
) -> Iterator[Shop]:
    made = make_shop(
        tmp_path, cache=venv_cache, database_url=database_url, redis_url=redis_server.url
    )
    yield made
    stop_environment(load_spec(made.spec).environment("test"))
