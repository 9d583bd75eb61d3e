"""The Django example itself, against real PostgreSQL, Redis, gunicorn and a Celery worker:
its release build, migrations, `/health/`, static files, media, its task, and the releases
that misbehave on purpose."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.django import build, settings_env, venv_cache
from tests.support.redis import RedisServer, redis_server
from tests.support.sample import free_port_range

__all__ = ["redis_server", "venv_cache"]


def manage(release: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(release / ".venv/bin/python"), "manage.py", *args],
        cwd=release, env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@contextlib.contextmanager
def running(
    argv: list[str], release: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    with (release / f"{argv[2]}.log").open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=release, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def wait_answering(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            get(url)
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def post_file(url: str, name: str, content: bytes) -> tuple[int, dict[str, object]]:
    boundary = "slipwayboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_a_release_migrates_serves_health_static_media_and_runs_its_task(
    tmp_path: Path, venv_cache: Path, database_url: str, redis_server: RedisServer
) -> None:
    release = build("v2", tmp_path / "v2", venv_cache)
    assert (release / ".venv/bin/python").exists()
    assert (release / "staticfiles/orders/version.txt").read_text() == "v2\n"
    env = settings_env(
        database_url=database_url, redis_url=redis_server.url, media_root=tmp_path / "media"
    )
    migrated = manage(release, env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    shown = manage(release, env, "showmigrations", "orders")
    assert "[X] 0001_initial" in shown.stdout and "[X] 0002_order_note" in shown.stdout

    port = free_port_range(1)
    web = [str(release / ".venv/bin/python"), "-m", "gunicorn", "shop.wsgi",
           "-b", f"127.0.0.1:{port}", "-w", "1"]  # fmt: skip
    worker = [str(release / ".venv/bin/python"), "-m", "celery", "-A", "shop", "worker",
              "-n", "w1@localhost", "-Q", "celery,w1", "-c", "1", "--without-mingle",
              "--without-gossip"]  # fmt: skip
    with running(web, release, env), running(worker, release, env):
        base = f"http://127.0.0.1:{port}"
        wait_answering(f"{base}/health/")
        status, body = get(f"{base}/health/")
        assert status == 200, body
        assert json.loads(body) == {"version": "v2", "database": "ok", "redis": "ok"}
        assert get(f"{base}/static/orders/version.txt") == (200, b"v2\n")
        status, _ = post_file(f"{base}/documents/", "invoice.pdf", b"%PDF-1.4 shop")
        assert status == 201
        assert (tmp_path / "media" / "documents" / "invoice.pdf").read_bytes() == b"%PDF-1.4 shop"
        smoke = manage(release, env, "task_smoke", "--queue", "w1")
        assert smoke.returncode == 0, smoke.stderr
        assert "recount on w1: 0" in smoke.stdout

        redis_server.stop()  # the health check names what does not answer
        status, body = get(f"{base}/health/")
        assert status == 503 and json.loads(body)["redis"].startswith("error")


def test_the_releases_that_misbehave(
    tmp_path: Path, venv_cache: Path, database_url: str, redis_server: RedisServer
) -> None:
    env = settings_env(
        database_url=database_url, redis_url=redis_server.url, media_root=tmp_path / "media"
    )
    v1 = build("v1", tmp_path / "v1", venv_cache)
    assert manage(v1, env, "migrate", "--noinput").returncode == 0
    bad = build("v2-bad-migration", tmp_path / "bad", venv_cache)
    failed = manage(bad, env, "migrate", "--noinput")
    assert (
        failed.returncode != 0
        and 'column "total" of relation "orders_order" already exists' in failed.stderr
    )

    crash = build("v2-crash-task", tmp_path / "crash", venv_cache)
    assert manage(crash, env, "migrate", "--noinput").returncode == 0
    worker = [str(crash / ".venv/bin/python"), "-m", "celery", "-A", "shop", "worker",
              "-n", "w2@localhost", "-Q", "w2", "-c", "1", "--without-mingle", "--without-gossip"]  # fmt: skip
    with running(worker, crash, env):
        smoke = manage(crash, env, "task_smoke", "--queue", "w2", "--timeout", "30")
    assert smoke.returncode != 0
    assert "this release's recount task crashes" in smoke.stderr

    with pytest.raises(AssertionError, match="unknown release"):
        build("v9-typo", tmp_path / "typo", venv_cache)
