"""HAProxy on a fleet host, over SSH: many threads moving and reading slots at once share
connections (real sshd test host, real HAProxy under its supervisord there)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from slipway.errors import BackendError
from slipway.router.haproxy_config import HAProxyConfig
from slipway.router.remote import SHARED_READ_S, RemoteHAProxyRouter
from slipway.ssh import SshHost, SshPool
from slipway.supervisord.launch import BASE_ENV
from tests.support.hosts import TestFleet

SLOTS = 30
DEPLOY_TO = "/srv/lb"


class CountingRouter(RemoteHAProxyRouter):
    """Counts the runtime-API connections it makes, by their first command; ``slow_reads``
    makes each reading take longer, as on a busy load balancer."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.connections: list[str] = []
        self.slow_reads = 0.0

    def command(self, line: str) -> str:
        self.connections.append(line)
        if line.startswith("show stat"):
            time.sleep(self.slow_reads)
        return super().command(line)


@pytest.fixture
def router(make_hosts: Callable[..., TestFleet]) -> Iterator[CountingRouter]:
    fleet = make_hosts(1)
    lb = fleet.hosts[0]
    pool = SshPool(
        [SshHost(lb.name, lb.address, lb.port, "root", fleet.key_file)],
        known_hosts=fleet.known_hosts,
    )
    config = HAProxyConfig(
        run_dir=Path(f"{DEPLOY_TO}/.slipway/router"),
        listen_host=lb.address,
        listen_port=8080,
        backend="shop",
        slots=[(f"s{i}", 9000 + i) for i in range(SLOTS)],
        health_path=None,
    )
    hap = CountingRouter(
        config,
        pool,
        lb.name,
        python=sys.executable,
        supervisor_dir=f"{DEPLOY_TO}/.slipway/supervisor",
    )
    try:
        hap.ensure_up()
        yield hap
    finally:
        hap.down()
        pool.call(hap.sv.ashutdown())
        pool.close()


def all_at_once(work: Callable[[int], None]) -> None:
    start = threading.Barrier(SLOTS)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(SLOTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]


def test_slots_moved_at_once_go_on_few_connections(router: CountingRouter) -> None:
    router.connections.clear()
    all_at_once(lambda i: router.set_weight(f"s{i}", i + 1))
    moves = [c for c in router.connections if c.startswith("set server")]
    assert sum(c.count("set server") for c in moves) == SLOTS
    assert len(moves) < SLOTS / 2
    all_at_once(lambda i: router.standby(f"s{i}"))
    assert {s.slot: (s.admin, s.weight) for s in router.servers()} == {
        f"s{i}": ("drain", i + 1) for i in range(SLOTS)
    }


def test_threads_reading_at_once_share_readings(router: CountingRouter) -> None:
    router.slow_reads = 4 * SHARED_READ_S  # each reading is stale when the next thread gets it
    router.connections.clear()
    seen: dict[int, int] = {}

    def read(i: int) -> None:
        seen[i] = len(router.servers())

    all_at_once(read)
    assert set(seen.values()) == {SLOTS}
    readings = [c for c in router.connections if c.startswith("show stat")]
    assert len(readings) <= 3  # one begun before most threads asked, one after: not one each


def other_router(router: CountingRouter, deploy_to: str) -> RemoteHAProxyRouter:
    """Another environment's router on the same LB host and the same port."""
    config = HAProxyConfig(
        run_dir=Path(f"{deploy_to}/.slipway/router"),
        listen_host=router.config.listen_host,
        listen_port=router.config.listen_port,
        backend="shop",
        slots=[("a", 9500)],
        health_path=None,
    )
    return RemoteHAProxyRouter(
        config,
        router.pool,
        router.host,
        python=sys.executable,
        supervisor_dir=f"{deploy_to}/.slipway/supervisor",
    )


def test_a_second_haproxy_on_the_hosts_port_is_refused_naming_the_first(
    router: CountingRouter,
) -> None:
    other = other_router(router, "/srv/other")
    try:
        with pytest.raises(
            BackendError, match=r":8080 is held by pid \d+ \(haproxy -W -db -f /srv/lb/"
        ):
            other.ensure_up()
        assert router.pool.call(other.sv.ainfo("haproxy")) is None
        missing = router.pool.run(
            router.host, "test -e /srv/other/.slipway/router/haproxy.cfg", check=False
        )
        assert not missing.ok
    finally:
        router.pool.call(other.sv.ashutdown())
    assert "Name: HAProxy" in router.command("show info")


def test_haproxy_and_supervisord_on_the_host_get_only_the_base_environment(
    router: CountingRouter,
) -> None:
    """They once got the SSH session's whole environment (SSH_CONNECTION, …), and the
    programs supervisord's own variables besides. HAProxy sets ``HAPROXY_*`` itself."""
    info = router.pool.call(router.sv.ainfo("haproxy"))
    assert info is not None
    master = int(info["pid"])
    pidfile = router.pool.run(router.host, f"cat {DEPLOY_TO}/.slipway/supervisor/supervisord.pid")
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in [master, int(pidfile.stdout), *map(int, children)]:
        names = {
            item.partition(b"=")[0].decode()
            for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            if item and not item.startswith(b"HAPROXY_")
        }
        assert names <= set(BASE_ENV), (pid, names)
