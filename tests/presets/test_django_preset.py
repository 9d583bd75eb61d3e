"""``slipway init --preset django``: found manage.py, wrote the seeds' runbook as a valid spec
whose plan has web, then the workers and beat; refused (exit 2, a hint) without manage.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from slipway.spec import load_spec
from tests.support.django import PROJECT


def slipway(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run(
        [sys.executable, "-m", "slipway", *args], cwd=cwd, capture_output=True, text=True,
        timeout=120, env=env,
    )  # fmt: skip


def test_init_writes_the_django_runbook(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "manage.py", tmp_path / "manage.py")
    plain = slipway(tmp_path, "init")
    assert "slipway init --preset django --force" in plain.stdout
    done = slipway(tmp_path, "init", "--preset", "django", "--app", "shop", "--force")
    assert done.returncode == 0, done.stderr
    env = load_spec(tmp_path / "slipway.yaml").environment("production")
    assert env.process.command[:4] == [".venv/bin/python", "-m", "gunicorn", "shop.wsgi"]
    assert "DATABASE_URL" in env.process.pass_env
    assert env.health.check.type == "http" and env.health.check.path == "/health/"
    assert set(env.roles) == {"worker", "beat"} and env.roles["beat"].singleton
    types = [c.type for c in env.checks]
    for kind in (
        "command",
        "django_settings",
        "bandit",
        "dependency_audit",
        "coverage",
        "redis",
        "database",
    ):
        assert kind in types
    assert env.database is not None and env.database.migrate is not None
    assert env.database.migrate.django is not None
    assert "collectstatic" not in (env.release.build or "")  # done by the build module
    assert (env.release.build or "").split()[1:3] == ["-m", "slipway.presets.django_build"]

    planned = json.loads(slipway(tmp_path, "plan", "--version", "v1", "--output", "json").stdout)
    kinds = [s["kind"] for s in planned["steps"]]
    assert kinds.index("migrate_database") < kinds.index("start_instance")
    assert (
        kinds.index("enable_instance") < kinds.index("start_process") < kinds.index("mark_current")
    )
    written = slipway(tmp_path, "runbook", "--out", "runbook.md")
    assert written.returncode == 0, written.stderr
    text = (tmp_path / "runbook.md").read_text()
    assert "(supervisord program role-worker-1_a)" in text  # every command, as it runs
    assert "celery -A shop inspect ping -d worker-1_a@slipway" in text
    assert "with a sha256 manifest, every member read back" in text
    assert planned["migrations"] == {
        "error": "$DATABASE_URL is not set: Slipway reads the database URL from it"
    }


def test_without_manage_py_it_says_where_to_run(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    shutil.copy(PROJECT / "manage.py", tmp_path / "shop" / "manage.py")
    refused = slipway(tmp_path, "init", "--preset", "django")
    assert refused.returncode == 2
    assert "no manage.py in" in refused.stderr + refused.stdout
    assert "hint: run it in shop" in refused.stderr
    assert not (tmp_path / "slipway.yaml").exists()
