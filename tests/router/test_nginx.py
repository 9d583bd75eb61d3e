"""nginx as the router, against a real nginx (under a real supervisord) and real app processes:
the same behaviours the HAProxy router is held to — nothing served before a slot is enabled,
weights, a drain that lets in-flight requests finish, standby and switch — and a rolling
deploy and an automatic rollback through the engine with zero failed requests."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.backends import Backends
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.router.nginx import NginxConfig, NginxRouter
from slipway.spec import load_spec
from slipway.store import Store
from slipway.supervisord.local import Supervisor
from tests.conftest import free_port_range, start_sample_app, stop_environment
from tests.support.sample import write_sample_spec


@pytest.fixture
def router(tmp_path: Path) -> Iterator[tuple[NginxRouter, int]]:
    base = free_port_range(3)
    supervisor = Supervisor(tmp_path / "run")
    config = NginxConfig(
        run_dir=tmp_path / "run", listen_host="127.0.0.1", listen_port=base + 2,
        backend="shop", slots=[("a", base), ("b", base + 1)],
    )  # fmt: skip
    nginx = NginxRouter(config, supervisor)
    apps = [
        start_sample_app(tmp_path / "v1", "v1", base),
        start_sample_app(tmp_path / "latency_300ms", "latency_300ms", base + 1),
    ]
    try:
        nginx.ensure_up()
        yield nginx, base + 2
    finally:
        for app in apps:
            app.kill()
            app.wait()
        supervisor.shutdown()


def versions(port: int, n: int) -> Counter[str]:
    with httpx.Client() as client:
        return Counter(
            client.get(f"http://127.0.0.1:{port}/").headers.get("X-Release", "none")
            for _ in range(n)
        )


def test_weights_standby_switch_and_nothing_before_enable(
    router: tuple[NginxRouter, int],
) -> None:
    nginx, port = router
    assert {s.admin for s in nginx.servers()} == {"maint"}
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 502
    nginx.enable("a")
    assert versions(port, 10) == Counter({"v1": 10})
    nginx.standby("b")
    assert versions(port, 10) == Counter({"v1": 10})  # on standby: no traffic
    nginx.switch(ready={"a": 25, "b": 75}, drain=[])
    seen = versions(port, 40)
    assert seen["v1"] == 10 and seen["latency_300ms"] == 30  # weighted round robin: exact
    nginx.switch(ready={"b": 100}, drain=["a"])
    assert versions(port, 6) == Counter({"latency_300ms": 6})
    states = {s.slot: (s.admin, s.weight) for s in nginx.servers()}
    assert states == {"a": ("drain", 25), "b": ("ready", 100)}
    nginx.ensure_up()  # a restart of the runner: the state file keeps what was set
    assert versions(port, 4) == Counter({"latency_300ms": 4})


def test_a_drain_waits_for_requests_in_flight(router: tuple[NginxRouter, int]) -> None:
    nginx, port = router
    nginx.enable("b")
    # a request nginx holds (its body not yet whole), so it is in flight through the worker
    # that accepted it, whatever the machine's speed
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(b"GET /work HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
    time.sleep(0.2)  # lets the worker accept it; the assertions below do not depend on it
    drained: list[bool] = []
    drain = threading.Thread(target=lambda: drained.append(nginx.drain("b", timeout_s=20)))
    drain.start()
    drain.join(timeout=1)
    assert drain.is_alive()  # still waiting: a request is in flight
    assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 502  # nothing new reaches b
    client.sendall(b"cd")
    answer = client.recv(65536).decode()
    client.close()
    drain.join(timeout=20)
    assert answer.startswith("HTTP/1.1 200") and "X-Release: latency_300ms" in answer
    assert drained == [True]
    assert {s.slot: s.admin for s in nginx.servers()}["b"] == "maint"


def test_a_config_nginx_refuses_is_not_applied(
    router: tuple[NginxRouter, int], tmp_path: Path
) -> None:
    nginx, port = router
    nginx.enable("a")
    good = (tmp_path / "run" / "nginx.conf").read_text()
    nginx.config = NginxConfig(**{**nginx.config.__dict__, "listen_port": 0})
    with pytest.raises(Exception, match="nginx rejects its config"):
        nginx.enable("b")
    assert (tmp_path / "run" / "nginx.conf").read_text() == good
    assert versions(port, 4) == Counter({"v1": 4})


@pytest.fixture
def nginx_spec(tmp_path: Path) -> Iterator[Path]:
    path = write_sample_spec(tmp_path, count=3)
    path.write_text(path.read_text().replace("{type: haproxy,", "{type: nginx,"))
    yield path
    stop_environment(load_spec(path).environment("test"))


def test_a_rolling_deploy_and_a_rollback_through_nginx_lose_no_request(nginx_spec: Path) -> None:
    env = load_spec(nginx_spec).environment("test")
    assert env.router.type == "nginx"
    store = Store.for_state_dir(env.state_dir.parent)
    engine = Engine(env, store=store, backends=Backends.for_environment(env, clock=SystemClock()))
    try:
        assert engine.deploy("v1").exit_code == 0
        url = f"http://127.0.0.1:{env.router.listen.port}/work"
        with TrafficGenerator(
            url, concurrency=4, max_requests=50_000, max_duration_s=120
        ) as traffic:
            time.sleep(0.3)
            rolled = engine.deploy("v2")
            finished = time.monotonic()
            time.sleep(0.3)
            rejected = engine.deploy("v3")  # fails its health check: rolled back to v2
            time.sleep(0.3)
        assert rolled.exit_code == 0, rolled.deployment.reason
        assert rejected.exit_code == 3
        report = traffic.report
        assert report.requests > 200
        assert report.failed == 0, report.errors
        assert report.versions_after(finished) == {"v2"}
        serving = {p.version for p in read_placement(engine.backends) if p.serving}
        assert serving == {"v2"}
    finally:
        store.close()


def test_nginx_cannot_be_a_fleet_router_nor_serve_a_runtime_maintenance_page(
    tmp_path: Path,
) -> None:
    from slipway.errors import SpecError

    path = write_sample_spec(tmp_path)
    text = path.read_text().replace("{type: haproxy,", "{type: nginx, metrics_port: 9999,")
    path.write_text(text)
    with pytest.raises(SpecError, match="nginx cannot do metrics_port"):
        load_spec(path)


def test_nginx_t_is_what_checks_the_config(tmp_path: Path) -> None:
    # the same check the router runs, on a config it would write: nginx itself accepts it
    config = NginxConfig(
        run_dir=tmp_path, listen_host="127.0.0.1", listen_port=free_port_range(1),
        backend="shop", slots=[("a", 9001)],
    )  # fmt: skip
    (tmp_path / "nginx-tmp").mkdir()
    (tmp_path / "nginx.conf").write_text(config.render({"a": ("ready", 100)}))
    done = subprocess.run(
        ["nginx", "-t", "-p", f"{tmp_path}/", "-e", str(tmp_path / "e.log"), "-c",
         str(tmp_path / "nginx.conf")], capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "server 127.0.0.1:9001 weight=100 max_fails=0;  # a" in config.render(
        {"a": ("ready", 100)}
    )
