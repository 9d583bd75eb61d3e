"""The Django example in tests: releases built by Slipway's Django build (a virtualenv per
release, its packages installed once per test session into a cache from PyPI — never into
Slipway's own environment), and the environment its settings read."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.hung import run_or_dump
from tests.support.sample import ROOT, free_port_range

EXAMPLE = ROOT / "examples" / "django"
PROJECT = EXAMPLE / "project"
SOURCE_COMMAND = f"{sys.executable} {EXAMPLE / 'build.py'}"
BYPASS_TOKEN = "testers-" + secrets.token_hex(12)


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


@pytest.fixture(scope="session")
def bandit(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """bandit from PyPI, in a virtualenv of its own (not Slipway's)."""
    venv = tmp_path_factory.mktemp("bandit") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "bandit>=1.7"], check=True, timeout=600)
    return [str(venv / "bin/bandit")]


@dataclass
class Shop:
    """The example shop as a team has it: a checkout (a built release, with its .venv), the
    spec `slipway init --preset django` wrote there, adapted to this test's ports and parts."""

    root: Path
    spec: Path
    environ: dict[str, str]
    listen: int
    role_log: Path
    media: Path

    def slipway(self, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "slipway", *args, "-f", str(self.spec)]
        return run_or_dump(argv, env=self.environ, timeout_s=timeout_s)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "slipway", *args, "-f", str(self.spec)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.environ,
        )  # fmt: skip

    def edit(self, change: Callable[[dict[str, Any]], None]) -> None:
        data = yaml.safe_load(self.spec.read_text())
        change(data)
        self.spec.write_text(yaml.safe_dump(data, sort_keys=False))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen}"


def make_shop(
    tmp_path: Path,
    *,
    cache: Path,
    database_url: str,
    redis_url: str,
    bandit: list[str] | None = None,
    checkout: str = "v2",
) -> Shop:
    root = build(checkout, tmp_path / "checkout", cache)
    environ = {
        **os.environ,
        **settings_env(
            database_url=database_url, redis_url=redis_url, media_root=tmp_path / "media"
        ),
        "SLIPWAY_USER": "dba",
        "SLIPWAY_BYPASS_TOKEN": BYPASS_TOKEN,
    }
    done = subprocess.run(
        [sys.executable, "-m", "slipway", "init", "--preset", "django", "--app", "shop"],
        cwd=root, capture_output=True, text=True, timeout=60, env=environ,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (root / "security").mkdir()
    (root / "security" / "advisories.json").write_text(json.dumps({"advisories": [
        {"id": "OLD-1", "package": "django", "affected": "<3.2", "severity": "critical"}
    ]}))  # fmt: skip
    (root / "coverage.json").write_text(json.dumps({"totals": {"percent_covered": 91.2}}))
    port = free_port_range(5)
    shop = Shop(
        root, root / "slipway.yaml", environ, port + 4, tmp_path / "roles.log", tmp_path / "media"
    )
    shop.edit(lambda data: _for_tests(data, shop, cache=cache, bandit=bandit, base=port))
    return shop


def _for_tests(
    data: dict[str, Any], shop: Shop, *, cache: Path, bandit: list[str] | None, base: int
) -> None:
    data["release"]["build"] = shlex.join(build_command(cache)) + " {version} {output}"
    data["process"]["command"][data["process"]["command"].index("3")] = "1"  # one gunicorn worker
    data["process"]["env"]["DJANGO_MEDIA_ROOT"] = str(shop.media)
    data["health"] |= {"interval_s": 0.2, "timeout_s": 90}
    data["media"]["path"] = str(shop.media)
    for role in data["roles"].values():
        role["env"] |= {"SHOP_ROLE_LOG": str(shop.role_log), "DJANGO_MEDIA_ROOT": str(shop.media)}
    worker = data["roles"]["worker"]
    worker["command"][worker["command"].index("2")] = "1"  # one task at a time
    worker["stop_timeout_s"] = 30
    # the example's own check: a recount task sent to the worker's own queue (proves work)
    worker["check"] = {
        "command": [".venv/bin/python", "manage.py", "task_smoke", "--queue", "{name}",
                    "--timeout", "15"],
        "within_s": 60, "interval_s": 1, "failures": 2, "timeout_s": 30,
    }  # fmt: skip
    checks = data["checks"]
    if bandit is None:
        checks[:] = [c for c in checks if c["type"] not in ("bandit", "command")]
    else:
        next(c for c in checks if c["type"] == "bandit")["program"] = bandit
    data["environments"] = {
        "test": {
            "router": {
                "type": "haproxy",
                "listen": f"127.0.0.1:{shop.listen}",
                "drain_timeout_s": 10,
                "maintenance": data["environments"]["production"]["router"]["maintenance"],
            },
            "instances": {"count": 2, "base_port": base},
        }
    }
