"""The HAProxy router against a real HAProxy (under a real supervisord) and real app processes."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.demo.traffic import TrafficGenerator
from slipway.router.haproxy import HAProxyConfig, HAProxyRouter
from slipway.supervisord.local import Supervisor
from tests.conftest import free_port_range, start_sample_app


@pytest.fixture
def router(tmp_path: Path) -> Iterator[tuple[HAProxyRouter, dict[str, int], int]]:
    base = free_port_range(3)
    slots = {"a": base, "b": base + 1}
    supervisor = Supervisor(tmp_path / "run")
    config = HAProxyConfig(
        run_dir=tmp_path / "run",
        listen_host="127.0.0.1",
        listen_port=base + 2,
        backend="shop",
        slots=list(slots.items()),
        health_path="/health",
        check_interval_s=0.2,
    )
    hap = HAProxyRouter(config, supervisor)
    try:
        hap.ensure_up()
        yield hap, slots, base + 2
    finally:
        supervisor.shutdown()


@pytest.fixture
def apps(
    tmp_path: Path, router: tuple[HAProxyRouter, dict[str, int], int]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    _, slots, _ = router
    processes = {
        "a": start_sample_app(tmp_path / "v1", "v1", slots["a"]),
        "b": start_sample_app(tmp_path / "latency_300ms", "latency_300ms", slots["b"]),
    }
    yield processes
    for process in processes.values():
        process.kill()
        process.wait()


def answered_by(port: int, n: int = 10) -> set[str]:
    with httpx.Client() as client:
        return {
            client.get(f"http://127.0.0.1:{port}/").headers.get("X-Release", "?") for _ in range(n)
        }


def test_slots_start_in_maintenance(router: tuple[HAProxyRouter, dict[str, int], int]) -> None:
    hap, _, port = router
    assert {s.admin for s in hap.servers()} == {"maint"}
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 503


def test_enable_and_disable_move_traffic(
    router: tuple[HAProxyRouter, dict[str, int], int], apps: object
) -> None:
    hap, _, port = router
    hap.enable("a")
    assert answered_by(port) == {"v1"}
    hap.enable("b")
    hap.disable("a")
    assert answered_by(port, 4) == {"latency_300ms"}
    assert {s.slot: s.admin for s in hap.servers()} == {"a": "maint", "b": "ready"}


def test_reload_and_restart_keep_runtime_states(
    router: tuple[HAProxyRouter, dict[str, int], int], apps: object
) -> None:
    hap, _, port = router
    hap.enable("a")
    hap.set_weight("a", 42)
    # a config change reloads HAProxy (master-worker, SIGUSR2)
    hap.config = HAProxyConfig(**{**hap.config.__dict__, "server_timeout_s": 20.0})
    hap.ensure_up()
    states = {s.slot: (s.admin, s.weight) for s in hap.servers()}
    assert states == {"a": ("ready", 42), "b": ("maint", 1)}
    # a full restart loads the server-state file as well
    hap.down()
    hap.ensure_up()
    assert {s.slot: s.admin for s in hap.servers()} == {"a": "ready", "b": "maint"}
    assert answered_by(port, 3) == {"v1"}


def in_flight(hap: HAProxyRouter, slot: str, port: int) -> tuple[threading.Thread, dict[str, int]]:
    """Send a slow request through HAProxy in a thread; return once it reached ``slot``."""
    result: dict[str, int] = {}
    client = httpx.Client(timeout=5)

    def slow() -> None:
        with client:
            result["status"] = client.get(f"http://127.0.0.1:{port}/work").status_code

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 3
    while not any(s.slot == slot and s.sessions for s in hap.servers()):
        assert time.monotonic() < deadline, "the request never reached the server"
        time.sleep(0.01)
    return thread, result


def test_drain_waits_for_the_in_flight_request(
    router: tuple[HAProxyRouter, dict[str, int], int], apps: object
) -> None:
    hap, _, port = router
    hap.enable("b")  # answers after 300 ms
    thread, result = in_flight(hap, "b", port)
    started = time.monotonic()
    assert hap.drain("b", timeout_s=5)
    waited = time.monotonic() - started
    thread.join(timeout=5)
    assert result["status"] == 200
    assert waited >= 0.1  # it did wait for the request to finish
    assert {s.slot: s.admin for s in hap.servers()}["b"] == "maint"


def test_drain_gives_up_at_its_timeout(
    router: tuple[HAProxyRouter, dict[str, int], int], apps: object
) -> None:
    hap, _, port = router
    hap.enable("b")
    thread, _ = in_flight(hap, "b", port)
    assert hap.drain("b", timeout_s=0.05) is False
    thread.join(timeout=5)


def test_switch_under_load_loses_nothing(
    router: tuple[HAProxyRouter, dict[str, int], int], apps: dict[str, subprocess.Popen[bytes]]
) -> None:
    hap, _, port = router
    hap.enable("a")
    with TrafficGenerator(
        f"http://127.0.0.1:{port}/", concurrency=4, max_requests=3000, max_duration_s=3
    ) as traffic:
        time.sleep(0.5)
        hap.enable("b")
        assert hap.drain("a", timeout_s=5)
        apps["a"].terminate()  # SIGTERM: the instance finishes what it has, then exits
        apps["a"].wait(timeout=10)
        time.sleep(0.5)
    assert traffic.report.failed == 0, traffic.report.errors
    assert traffic.report.requests > 20  # slot b answers in 300 ms: few requests, all good


def test_runtime_api_answers_beside_many_open_connections(
    router: tuple[HAProxyRouter, dict[str, int], int],
) -> None:
    """An operator's or a monitoring tool's sessions leave Slipway room (HAProxy's default
    of 10 connections would leave this command waiting)."""
    hap, _, _ = router
    others = []
    try:
        for _ in range(20):
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(str(hap.socket))
            conn.sendall(b"prompt\n")  # interactive: the session stays open
            others.append(conn)
        time.sleep(0.2)
        assert "Name: HAProxy" in hap.command("show info")
    finally:
        for conn in others:
            conn.close()
