"""The Django example in tests: releases built by Slipway's Django build (a virtualenv per
release, its packages installed once per test session into a cache from PyPI — never into
Slipway's own environment), and the environment its settings read."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sample import ROOT

EXAMPLE = ROOT / "examples" / "django"
PROJECT = EXAMPLE / "project"
SOURCE_COMMAND = f"{sys.executable} {EXAMPLE / 'build.py'}"


def build_command(cache: Path) -> list[str]:
    """``release.build`` of the example, as argv: the catalogue's source, then the build."""
    return [
        sys.executable, "-m", "slipway.presets.django_build", "--project", str(PROJECT),
        "--source-command", SOURCE_COMMAND, "--cache", str(cache),
    ]  # fmt: skip


def build(version: str, output: Path, cache: Path) -> Path:
    done = subprocess.run(
        [*build_command(cache), version, str(output)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return output


def settings_env(*, database_url: str, redis_url: str, media_root: Path) -> dict[str, str]:
    """What the shop's settings read: secrets and addresses, as a runner would hold them."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_MEDIA_ROOT": str(media_root),
    }


@pytest.fixture(scope="session")
def venv_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Installed requirements shared by every release of the session (hard-linked into each)."""
    yield tmp_path_factory.mktemp("django-venvs")
