"""The HAProxy router against a real HAProxy (under a real supervisord) and real app processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.demo.traffic import TrafficGenerator
from slipway.errors import BackendError, PermanentError
from slipway.router.haproxy import HAProxyRouter
from slipway.router.haproxy_config import HAProxyConfig
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


def other_environment(tmp_path: Path, port: int) -> tuple[HAProxyRouter, Supervisor]:
    """A second environment (another checkout, another user) whose router listens on ``port``."""
    supervisor = Supervisor(tmp_path / "other")
    base = free_port_range(2)
    config = HAProxyConfig(
        run_dir=tmp_path / "other",
        listen_host="127.0.0.1",
        listen_port=port,
        backend="shop",
        slots=[("a", base), ("b", base + 1)],
    )
    return HAProxyRouter(config, supervisor), supervisor


def test_a_second_haproxy_on_the_port_is_refused_naming_the_first(
    router: tuple[HAProxyRouter, dict[str, int], int], apps: object, tmp_path: Path
) -> None:
    """Two HAProxys bound one port with SO_REUSEPORT, and the kernel split users' requests
    between two unrelated releases: 15 of 20 got the other one's 503s."""
    hap, _, port = router
    hap.enable("a")
    other, supervisor = other_environment(tmp_path, port)
    try:
        with pytest.raises(BackendError, match=rf"127.0.0.1:{port} is held by pid \d+ \(.*haproxy"):
            other.ensure_up()
        assert supervisor.info("haproxy") is None  # not started, not even defined
        assert not (tmp_path / "other" / "haproxy.cfg").exists()
    finally:
        supervisor.shutdown()
    with httpx.Client() as client:
        assert [client.get(f"http://127.0.0.1:{port}/").status_code for _ in range(20)] == [
            200
        ] * 20


def test_a_port_held_by_another_program_is_refused_naming_it(tmp_path: Path) -> None:
    port = free_port_range(1)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys, time\n"
            "s = socket.socket(); s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen()\n"
            "print('ready', flush=True); time.sleep(60)",
            str(port),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        other, supervisor = other_environment(tmp_path, port)
        try:
            with pytest.raises(BackendError) as info:
                other.ensure_up()
            assert f"0.0.0.0:{port} is held by pid {holder.pid} ({sys.executable} -c" in str(
                info.value
            )
        finally:
            supervisor.shutdown()
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_reloads_under_traffic_lose_no_request(
    router: tuple[HAProxyRouter, dict[str, int], int], apps: object
) -> None:
    """With ``noreuseport`` a new worker cannot bind beside the old one: it takes the listening
    sockets over from the old one (``expose-fd listeners``), so no connection is refused; and
    the old worker answers a request sent on an idle keep-alive connection instead of closing
    it under the client (``idle-close-on-response``: 1 or 2 of 5000 requests were lost in a
    quarter of the runs without it)."""
    hap, _, port = router
    hap.enable("a")
    assert "    noreuseport\n" in (hap.config.run_dir / "haproxy.cfg").read_text()
    with TrafficGenerator(
        f"http://127.0.0.1:{port}/", concurrency=4, max_requests=20_000, max_duration_s=8
    ) as traffic:
        time.sleep(0.3)
        for timeout_s in range(21, 27):
            hap.config = HAProxyConfig(**{**hap.config.__dict__, "server_timeout_s": timeout_s})
            hap.ensure_up()  # a changed config: a reload (SIGUSR2 to the master)
            time.sleep(0.2)
    assert traffic.report.failed == 0, traffic.report.errors
    assert traffic.report.requests > 100
    assert "timeout server 26000ms" in (hap.config.run_dir / "haproxy.cfg").read_text()


def test_haproxys_own_error_reaches_the_user(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "run")
    config = HAProxyConfig(
        run_dir=tmp_path / "run",
        listen_host="127.0.0.1",
        listen_port=70000,
        backend="shop",
        slots=[("a", free_port_range(1))],
    )
    try:
        with pytest.raises(BackendError, match="invalid port '70000'"):
            HAProxyRouter(config, supervisor).ensure_up()
        assert not (tmp_path / "run" / "haproxy.cfg").exists()
        assert not (tmp_path / "run" / "haproxy.new").exists()
    finally:
        supervisor.shutdown()


def test_a_newline_in_a_value_never_reaches_haproxy_cfg(tmp_path: Path) -> None:
    """A newline once added ``lua-load`` to the global section, and the Lua ran during the
    check (``haproxy -c``)."""
    marker = tmp_path / "lua-ran"
    evil = tmp_path / "evil.lua"
    evil.write_text(f'io.open("{marker}", "w"):write("ran")\n')
    supervisor = Supervisor(tmp_path / "run")
    config = HAProxyConfig(
        run_dir=tmp_path / "run",
        listen_host="127.0.0.1",
        listen_port=free_port_range(1),
        backend="shop",
        slots=[("a", free_port_range(1))],
        health_path=f"/health\nglobal\n    lua-load {evil}",
    )
    try:
        with pytest.raises(PermanentError, match=r"cannot be written into haproxy\.cfg"):
            HAProxyRouter(config, supervisor).ensure_up()
    finally:
        supervisor.shutdown()
    assert not marker.exists()
    assert not (tmp_path / "run" / "haproxy.cfg").exists()


def test_a_path_with_a_quote_reaches_haproxy_as_it_is(tmp_path: Path) -> None:
    run = tmp_path / "it's#1"  # no blank: supervisord's `[include] files` splits at one
    supervisor = Supervisor(run)
    port = free_port_range(1)
    config = HAProxyConfig(
        run_dir=run,
        listen_host="127.0.0.1",
        listen_port=port,
        backend="shop",
        slots=[("a", free_port_range(1))],
    )
    hap = HAProxyRouter(config, supervisor)
    try:
        hap.ensure_up()
        assert (run / "hap.sock").exists()
        assert "Name: HAProxy" in hap.command("show info")
    finally:
        supervisor.shutdown()


def test_a_socket_path_haproxy_would_expand_is_refused(tmp_path: Path) -> None:
    """HAProxy expands ``$HOME`` in a socket's address, whatever the quotes."""
    config = HAProxyConfig(
        run_dir=tmp_path / "$HOME",
        listen_host="127.0.0.1",
        listen_port=8080,
        backend="shop",
        slots=[("a", 9000)],
    )
    with pytest.raises(PermanentError, match="or a \\$"):
        config.render()
