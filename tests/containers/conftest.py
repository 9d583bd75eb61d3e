"""Fixtures of the container tests: a private Docker engine per test (tests/support/dockerd.py)."""

from __future__ import annotations

from tests.support.dockerd import docker_engine, dockerd
from tests.support.registry import registry

__all__ = ["docker_engine", "dockerd", "registry"]
