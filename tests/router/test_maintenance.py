"""The maintenance page on a real HAProxy: switched by the runtime API without a reload (the
worker's PID stays, no connection of steady traffic fails but the 503s), testers get through
with the bypass header, the state survives a reload, the token is in no config or log."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.demo.traffic import TrafficGenerator
from slipway.router.haproxy import PROGRAM, HAProxyRouter
from slipway.router.haproxy_config import HAProxyConfig
from slipway.router.maintenance import MaintenancePage
from slipway.supervisord.local import Supervisor
from tests.conftest import free_port_range, start_sample_app

TOKEN = "tester-token-0123456789abcdef"
PAGE = "<h1>Shop: back in two minutes</h1>"


@pytest.fixture
def router(tmp_path: Path) -> Iterator[tuple[HAProxyRouter, int, subprocess.Popen[bytes]]]:
    base = free_port_range(2)
    run = tmp_path / "run"
    supervisor = Supervisor(run)
    config = HAProxyConfig(
        run_dir=run, listen_host="127.0.0.1", listen_port=base + 1, backend="shop",
        slots=[("a", base)], health_path="/health", check_interval_s=0.2,
        maintenance=MaintenancePage(run.resolve(), 90, "X-Slipway-Bypass"),
    )  # fmt: skip
    hap = HAProxyRouter(config, supervisor)
    hap.maintenance_html, hap.bypass_token = PAGE, TOKEN
    app = start_sample_app(tmp_path / "v1", "v1", base)
    try:
        hap.ensure_up()
        hap.enable("a")
        yield hap, base + 1, app
    finally:
        app.kill()
        app.wait()
        supervisor.shutdown()


def worker_pid(hap: HAProxyRouter) -> str:
    return hap.command("show info").split("Pid: ")[1].split()[0]


def test_switched_at_runtime_with_a_way_through_for_testers(
    router: tuple[HAProxyRouter, int, subprocess.Popen[bytes]],
) -> None:
    hap, port, _ = router
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 10
    while httpx.get(url).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not hap.in_maintenance()
    pid = worker_pid(hap)
    with TrafficGenerator(url, concurrency=2, max_requests=100_000, max_duration_s=30) as traffic:
        time.sleep(0.5)
        switched_on = time.monotonic()
        hap.set_maintenance(True)
        hap.set_maintenance(True)  # idempotent
        answer = httpx.get(url)
        assert answer.status_code == 503 and answer.text == PAGE
        assert answer.headers["Retry-After"] == "90"
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        tester = httpx.get(url, headers={"X-Slipway-Bypass": TOKEN})
        assert tester.status_code == 200 and tester.headers["X-Release"] == "v1"
        wrong = httpx.get(url, headers={"X-Slipway-Bypass": "guess-guess-guess-guess"})
        assert wrong.status_code == 503
        time.sleep(0.5)
        hap.set_maintenance(False)
        switched_off = time.monotonic()
        time.sleep(0.5)
    assert worker_pid(hap) == pid  # no reload
    failed = [s for s in traffic.report.samples if s.failed]
    assert failed and all(s.status == 503 for s in failed)
    # each 503 was in flight while maintenance was on: answered after the switch began (a
    # request the client stamped just before it may reach HAProxy just after), sent before
    # it ended
    assert all(s.sent + s.latency_s >= switched_on and s.sent <= switched_off for s in failed)
    assert httpx.get(url).status_code == 200


def test_the_state_survives_a_reload_and_the_token_stays_private(
    router: tuple[HAProxyRouter, int, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    hap, port, _ = router
    hap.set_maintenance(True)
    hap.config = HAProxyConfig(**{**hap.config.__dict__, "server_timeout_s": 20.0})
    hap.ensure_up()  # a changed config: reloaded (USR2), the map file read again
    assert hap.in_maintenance()
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 503
    run = tmp_path / "run"
    assert TOKEN not in (run / "haproxy.cfg").read_text()
    assert oct((run / "bypass.map").stat().st_mode & 0o777) == "0o600"
    assert TOKEN not in hap._sv.log_tail(PROGRAM)
    hap.set_maintenance(False)
    assert not hap.in_maintenance()
