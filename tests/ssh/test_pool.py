"""SSH connections against real sshd test hosts: reuse, host keys, failures, bounds."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from slipway.errors import HostFailed, HostKeyError
from slipway.ssh import SshHost, SshPool
from tests.support import hosts as test_kit
from tests.support.hosts import ROOT, TestFleet
from tests.support.sample import free_port_range


def pool_for(fleet: TestFleet, **kwargs: float) -> SshPool:
    hosts = [SshHost(h.name, h.address, h.port, "root", fleet.key_file) for h in fleet.hosts]
    return SshPool(hosts, known_hosts=fleet.known_hosts, **kwargs)  # type: ignore[arg-type]


def test_one_connection_per_host_reused_for_every_command(
    make_hosts: Callable[..., TestFleet],
) -> None:
    fleet = make_hosts(3)
    pool = pool_for(fleet)
    try:
        for _ in range(4):
            for host in fleet.hosts:
                answer = pool.run(host.name, "echo $SSH_CONNECTION").stdout.split()
                assert answer[2] == host.address  # the server side of the connection
        assert pool.connections_opened == 3
    finally:
        pool.close()


def test_hosts_have_private_directories(make_hosts: Callable[..., TestFleet]) -> None:
    fleet = make_hosts(2)
    pool = pool_for(fleet)
    try:
        pool.run("h1", "echo one > /tmp/mine && mkdir -p /srv/app && echo one > /srv/app/f")
        assert pool.run("h2", "ls /srv").stdout.split() == []
        assert "mine" not in pool.run("h2", "ls /tmp").stdout.split()
        assert pool.run("h1", "cat /tmp/mine").stdout == "one\n"
        assert (fleet.host("h1").srv / "app" / "f").read_text() == "one\n"
        assert not (fleet.host("h2").srv / "app").exists()
    finally:
        pool.close()


def test_unknown_host_key_is_refused_naming_host_and_fingerprint(
    make_hosts: Callable[..., TestFleet],
) -> None:
    fleet = make_hosts(2)
    h1, h2 = fleet.hosts
    fleet.known_hosts.write_text(h1.known_hosts_line() + "\n")
    pool = pool_for(fleet)
    try:
        assert pool.run("h1", "true").ok
        with pytest.raises(HostKeyError) as caught:
            pool.run("h2", "true")
        message = str(caught.value)
        assert caught.value.host == "h2"
        assert caught.value.fingerprint == h2.fingerprint()
        assert h2.fingerprint() in message and h2.address in message
        assert "does not know" in message and "ssh-keyscan" in message
        assert caught.value.exit_code == 4
    finally:
        pool.close()


def test_changed_host_key_is_refused_as_changed(make_hosts: Callable[..., TestFleet]) -> None:
    fleet = make_hosts(2)
    h1, h2 = fleet.hosts
    # h2's address with h1's key: what a reinstalled host (or a man in the middle) looks like
    forged = h1.known_hosts_line().replace(h1.address, h2.address, 1)
    fleet.known_hosts.write_text(forged + "\n")
    pool = pool_for(fleet)
    try:
        with pytest.raises(HostKeyError) as caught:
            pool.run("h2", "true")
        assert "NOT the key" in str(caught.value)
        assert "ssh-keygen -R" in str(caught.value)
        assert h2.fingerprint() in str(caught.value)
    finally:
        pool.close()


def test_failing_command_names_host_status_and_stderr(make_hosts: Callable[..., TestFleet]) -> None:
    fleet = make_hosts(1)
    pool = pool_for(fleet)
    try:
        with pytest.raises(HostFailed) as caught:
            pool.run("h1", "echo disk is full >&2; exit 28")
        assert caught.value.host == "h1" and not caught.value.unreachable
        assert "exited with 28" in str(caught.value) and "disk is full" in str(caught.value)
        assert pool.run("h1", "exit 3", check=False).exit_status == 3
    finally:
        pool.close()


def test_cut_off_host_fails_within_its_timeout_then_at_once(
    make_hosts: Callable[..., TestFleet],
) -> None:
    fleet = make_hosts(2)
    pool = pool_for(fleet, command_timeout_s=2.0, connect_timeout_s=2.0)
    try:
        assert pool.run("h1", "true").ok
        fleet.host("h1").cut()
        with pytest.raises(HostFailed) as caught:
            pool.run("h1", "sleep 0.1")
        assert caught.value.unreachable and "no answer within 2s" in str(caught.value)
        started = time.monotonic()
        with pytest.raises(HostFailed):
            pool.run("h1", "true")
        assert pool.is_down("h1")
        assert time.monotonic() - started < 1.0
        assert pool.run("h2", "true").ok  # the others are unaffected
        assert pool.live(["h2", "h1"]) == ["h2"]
    finally:
        pool.close()


class Overlap:
    """``work`` for ``SshPool.map``: each host's address as its sshd sees it, after a pause long
    enough for hosts worked on together to overlap; ``peak`` is how many did at once."""

    def __init__(self, pool: SshPool) -> None:
        self.pool, self.active, self.peak = pool, 0, 0

    async def work(self, name: str) -> str:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            result = await self.pool.arun(name, "sleep 0.2; echo $SSH_CONNECTION")
            return result.stdout.split()[2]
        finally:
            self.active -= 1


def test_map_works_on_at_most_max_parallel_hosts_at_once(
    make_hosts: Callable[..., TestFleet],
) -> None:
    fleet = make_hosts(5)
    pool = pool_for(fleet, max_parallel=2)
    overlap = Overlap(pool)
    try:
        results = pool.map([h.name for h in fleet.hosts], overlap.work)
        assert results == {h.name: h.address for h in fleet.hosts}
        assert overlap.peak == 2
    finally:
        pool.close()


def test_a_closed_pool_works_again_within_the_same_bounds(
    make_hosts: Callable[..., TestFleet],
) -> None:
    """Closing stops the loop thread; the next call starts a new one, and the bound on hosts
    worked on at once holds there too (a semaphore of the old loop would refuse to work)."""
    fleet = make_hosts(3)
    pool = pool_for(fleet, max_parallel=1)
    overlap = Overlap(pool)
    names = [h.name for h in fleet.hosts]
    try:
        assert pool.map(names, overlap.work) == {h.name: h.address for h in fleet.hosts}
        pool.close()
        assert not pool.running
        assert pool.map(names, overlap.work) == {h.name: h.address for h in fleet.hosts}
        assert overlap.peak == 1
        assert pool.connections_opened == 6  # closing closed the connections
    finally:
        pool.close()


def _kept_under_tmp() -> set[str]:
    return {p.split("/")[2] for p in test_kit._passthrough_dirs() if p.startswith("/tmp/")}


def test_loopback_fallback_hosts_answer_on_their_own_address(
    make_hosts: Callable[..., TestFleet],
) -> None:
    fleet = make_hosts(2, mode="loopback")
    assert fleet.mode == "loopback"
    assert all(h.address.startswith("127.") for h in fleet.hosts)
    pool = pool_for(fleet)
    try:
        for host in fleet.hosts:
            assert pool.run(host.name, "echo $SSH_CONNECTION").stdout.split()[2] == host.address
        pool.run("h1", "touch /tmp/only-h1")
        # nothing of h1's /tmp; only what every host sees (a checkout of this under /tmp)
        assert set(pool.run("h2", "ls /tmp").stdout.split()) == _kept_under_tmp()
    finally:
        pool.close()


def test_unreachable_address_is_a_host_failure(make_hosts: Callable[..., TestFleet]) -> None:
    fleet = make_hosts(1)
    fleet.host("h1").cut()
    pool = pool_for(fleet, connect_timeout_s=1.0)
    try:
        with pytest.raises(HostFailed) as caught:
            pool.run("h1", "true")
        assert caught.value.unreachable and "cannot connect" in str(caught.value)
        assert asyncio.iscoroutinefunction(pool.arun)
    finally:
        pool.close()


def test_missing_known_hosts_file_is_a_host_key_error(
    make_hosts: Callable[..., TestFleet],
) -> None:
    fleet = make_hosts(1)
    fleet.known_hosts.unlink()
    pool = pool_for(fleet)
    try:
        with pytest.raises(HostKeyError) as caught:
            pool.run("h1", "true")
        assert "(the file does not exist)" in str(caught.value)
        assert fleet.host("h1").fingerprint() in str(caught.value)
    finally:
        pool.close()


@pytest.mark.parametrize("known_hosts", ["missing", "present"])
def test_a_closed_port_is_said_to_be_closed_not_a_key_problem(
    tmp_path: Path, known_hosts: str
) -> None:
    """Once reported as "host presented a key": nothing listened there at all."""
    port = free_port_range(1)  # nothing listens on it
    file = tmp_path / "known_hosts"
    if known_hosts == "present":
        file.write_text("")
    pool = SshPool([SshHost("h1", "127.0.0.1", port, "root", None)], known_hosts=file)
    try:
        with pytest.raises(HostFailed) as caught:
            pool.run("h1", "true")
        message = str(caught.value)
        assert "connection refused" in message and "presented" not in message, message
        assert caught.value.unreachable
    finally:
        pool.close()


def test_hosts_see_the_runners_python_and_checkout_wherever_they_live(tmp_path: Path) -> None:
    """A clone under /tmp (private on every host) must still run its fleet tests: the hosts
    see the runner's Python, this checkout and the paths asked for — and nothing else of /tmp."""
    clone = Path(tempfile.mkdtemp(prefix="slipway-clone-", dir="/tmp"))
    try:
        (clone / "marker").write_text("here")
        (tmp_path / "beside").write_text("not for hosts")
        with test_kit.test_hosts(1, tmp_path / "fleet", keep=[clone / "marker"]) as fleet:
            [host] = fleet.hosts
            assert host.run_inside(f"cat {clone}/marker").strip() == "here"
            python = shlex.quote(sys.executable)
            assert (
                host.run_inside(f"{python} -c 'import slipway, supervisor; print(1)'").strip()
                == "1"
            )
            assert host.run_inside(f"test -d {ROOT / 'examples'} && echo yes").strip() == "yes"
            hidden = host.run_inside(f"test -e {tmp_path / 'beside'} && echo seen || echo hidden")
            assert hidden.strip() == "hidden"
    finally:
        shutil.rmtree(clone)


def test_an_upload_holds_little_here_while_the_host_reads_slowly(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    """asyncssh alone sends up to the host's window (2 MiB) and keeps in this process what the
    socket does not take: a fleet of slow hosts is hundreds of MB here. An upload waits for
    the transport to have room instead (``ssh/flow.py``). The host's link is slowed to
    2 MB/s (a token bucket on its veth), so the socket takes little at a time."""
    import os
    import socket

    from slipway.ssh.flow import CHUNK, HIGH_WATER

    fleet = make_hosts(1)
    host = fleet.host("h1")
    assert host.link is not None, "a slow link needs the host's own veth"
    pool = pool_for(fleet, command_timeout_s=60)
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(3 << 20))
    try:
        pool.run("h1", "true")
        conn = pool._conns["h1"]  # the test looks inside: what waits in this process
        conn.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        slow = ["tc", "qdisc", "add", "dev", host.link, "root", "tbf", "rate", "16mbit"]
        subprocess.run([*slow, "burst", "16kb", "latency", "2s"], check=True)
        upload = pool.call(_start(pool.arun("h1", "cat > /tmp/blob", stdin=blob)))
        held = pool.call(_most_buffered(conn, seconds=1.0))
        result = pool.call(_wait(upload), timeout_s=60)
        assert result.ok, result.stderr
        assert (host.directory / "tmp" / "blob").read_bytes() == blob.read_bytes()
        assert 0 < held <= HIGH_WATER + 2 * CHUNK, f"{held} bytes waited in this process"
    finally:
        pool.close()


async def _start(coro: Any) -> asyncio.Task[Any]:
    return asyncio.ensure_future(coro)


async def _wait(task: asyncio.Task[Any]) -> Any:
    return await task


async def _most_buffered(conn: Any, *, seconds: float) -> int:
    most, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        most = max(most, conn._transport.get_write_buffer_size())
        await asyncio.sleep(0.01)
    return most
