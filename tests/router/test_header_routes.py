"""Header- and cookie-routed canaries against a real HAProxy (under a real supervisord) and
real app processes: a request with the route's header or cookie reaches the canary slot
whatever the weights (even on standby), one without it is balanced as before, a route
survives a reload, and a canary slot that is down sends routed requests back to balancing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slipway.errors import BackendError, PermanentError
from slipway.router.haproxy import HAProxyRouter
from slipway.router.haproxy_config import HAProxyConfig
from slipway.supervisord.local import Supervisor
from tests.conftest import free_port_range, start_sample_app

ROUTES = [("header", "canary"), ("cookie", "beta")]


def config(tmp_path: Path, base: int, routes: list[tuple[str, str]]) -> HAProxyConfig:
    return HAProxyConfig(
        run_dir=tmp_path / "run",
        listen_host="127.0.0.1",
        listen_port=base + 2,
        backend="shop",
        slots=[("a", base), ("b", base + 1)],
        health_path="/health",
        check_interval_s=0.2,
        routes=routes,
    )


@pytest.fixture
def routed(tmp_path: Path) -> Iterator[tuple[HAProxyRouter, int, int]]:
    """HAProxy with two routes declared, v1 in slot a taking all traffic, v2 in slot b on
    standby (checked, taking no balanced request): (router, listen port, base port)."""
    base = free_port_range(3)
    supervisor = Supervisor(tmp_path / "run")
    apps: list[subprocess.Popen[bytes]] = []
    try:
        apps.append(start_sample_app(tmp_path / "v1", "v1", base))
        apps.append(start_sample_app(tmp_path / "v2", "v2", base + 1))
        hap = HAProxyRouter(config(tmp_path, base, ROUTES), supervisor)
        hap.ensure_up()
        hap.enable("a")
        hap.standby("b")
        yield hap, base + 2, base
    finally:
        supervisor.shutdown()
        for app in apps:
            app.kill()
            app.wait()


def releases(
    port: int, *, headers: dict[str, str] | None = None, cookies: dict[str, str] | None = None
) -> set[str]:
    with httpx.Client(trust_env=False, headers=headers, cookies=cookies) as client:
        return {client.get(f"http://127.0.0.1:{port}/").headers["X-Release"] for _ in range(12)}


def test_the_header_reaches_the_canary_on_standby_and_nothing_else_does(
    routed: tuple[HAProxyRouter, int, int],
) -> None:
    hap, port, _ = routed
    assert releases(port, headers={"canary": "true"}) == {"v1"}  # no route yet
    hap.route(match="header", name="canary", value="true", slots=["b"])
    assert releases(port, headers={"canary": "true"}) == {"v2"}
    assert releases(port, headers={"Canary": "true"}) == {"v2"}  # header names: any case
    assert releases(port) == {"v1"}
    assert releases(port, headers={"canary": "false"}) == {"v1"}  # another value
    assert releases(port, cookies={"beta": "true"}) == {"v1"}  # another route, unset
    assert hap.routes.current()[("header", "canary")] == {"true": ",b,"}


def test_a_cookie_route_and_removing_routes(routed: tuple[HAProxyRouter, int, int]) -> None:
    hap, port, _ = routed
    hap.route(match="cookie", name="beta", value="on", slots=["b"])
    hap.route(match="header", name="canary", value="1", slots=["b"])
    assert releases(port, cookies={"beta": "on"}) == {"v2"}
    hap.route(match="cookie", name="beta", value=None, slots=["b"])
    assert releases(port, cookies={"beta": "on"}) == {"v1"}
    assert releases(port, headers={"canary": "1"}) == {"v2"}  # the other route stays
    hap.clear_routes()
    assert releases(port, headers={"canary": "1"}) == {"v1"}
    assert hap.routes.current() == {("header", "canary"): {}, ("cookie", "beta"): {}}


def test_a_route_survives_a_reload_and_a_restart(
    tmp_path: Path, routed: tuple[HAProxyRouter, int, int]
) -> None:
    hap, port, base = routed
    hap.route(match="header", name="canary", value="true", slots=["b"])
    # a third route declared: a new config, so HAProxy reloads; the maps are read again
    reloaded = HAProxyRouter(
        config(tmp_path, base, [*ROUTES, ("header", "x-tester")]), Supervisor(tmp_path / "run")
    )
    reloaded.ensure_up()
    assert releases(port, headers={"canary": "true"}) == {"v2"}
    reloaded.route(match="header", name="x-tester", value="alice", slots=["b"])
    assert releases(port, headers={"x-tester": "alice"}) == {"v2"}
    reloaded.down()
    reloaded.ensure_up()  # started afresh: the map files and the server-state file
    assert releases(port, headers={"canary": "true"}) == {"v2"}
    assert releases(port) == {"v1"}


def test_a_canary_in_maintenance_gets_no_routed_request(
    routed: tuple[HAProxyRouter, int, int],
) -> None:
    hap, port, _ = routed
    hap.route(match="header", name="canary", value="true", slots=["b"])
    hap.disable("b")  # stopped, as after a rollback: routed requests are balanced as usual
    with httpx.Client(trust_env=False, headers={"canary": "true"}) as client:
        answers = [client.get(f"http://127.0.0.1:{port}/") for _ in range(12)]
    assert {(a.status_code, a.headers["X-Release"]) for a in answers} == {(200, "v1")}


def test_routes_not_declared_or_values_not_plain_are_refused(
    routed: tuple[HAProxyRouter, int, int],
) -> None:
    hap, port, _ = routed
    with pytest.raises(BackendError, match="declares no route"):
        hap.route(match="header", name="other", value="true", slots=["b"])
    with pytest.raises(PermanentError, match="plain word"):
        hap.route(match="header", name="canary", value="true b\nadd", slots=["b"])
    assert hap.routes.current()[("header", "canary")] == {}
    assert releases(port, headers={"canary": "true"}) == {"v1"}


def test_the_config_declares_each_route_once_with_quoted_map_paths(tmp_path: Path) -> None:
    text = config(tmp_path, 20000, ROUTES).render()
    run = (tmp_path / "run").resolve()
    assert (
        f"http-request set-var(txn.route) req.hdr(canary),map_str('{run}/route-header-canary.map')"
        in text
    )
    assert f"req.cook(beta),map_str('{run}/route-cookie-beta.map')" in text
    assert "use-server b if { var(txn.route) -m sub ,b, }" in text
    assert "use-server" not in config(tmp_path, 20000, []).render()
