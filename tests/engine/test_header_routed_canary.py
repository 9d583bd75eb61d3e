"""A header-routed canary against real supervisord, HAProxy (its maps changed through the
runtime API) and the sample app: while the canary takes no weighted traffic, testers sending
the header reach it and nobody else does; an abort removes the route before anything else,
a promotion removes it once everything is on the new release."""

from __future__ import annotations

from pathlib import Path

import httpx

from slipway import reports
from slipway.engine import Engine, control
from slipway.router.haproxy import HAProxyRouter
from tests.engine.test_progressive import engine_for, in_background, wait_for_step
from tests.engine.test_rollout import serving_versions

ROUTED = """
  type: canary
  steps:
    - set_header_route: {name: x-canary, value: "yes"}
    - pause: {}
    - set_weight: 50
    - pause: {duration_s: 0.5}
  analysis: null"""


def releases(engine: Engine, headers: dict[str, str] | None = None) -> set[str]:
    port = engine.env.router.listen.port
    with httpx.Client(trust_env=False, headers=headers) as client:
        return {client.get(f"http://127.0.0.1:{port}/").headers["X-Release"] for _ in range(20)}


def routes(engine: Engine) -> dict[tuple[str, str], dict[str, str]]:
    router = engine.backends.router
    assert isinstance(router, HAProxyRouter)
    return router.routes.current()


def test_testers_reach_the_canary_by_header_and_an_abort_removes_the_route(
    tmp_path: Path,
) -> None:
    with engine_for(tmp_path, ROUTED) as (engine, store):
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason
        thread, result = in_background(engine, "v2")
        dep_id = wait_for_step(store, engine, "gate")
        # the canary on standby: no weighted request reaches it, the header does
        assert set(serving_versions(engine).values()) == {"v1"}
        assert releases(engine) == {"v1"}
        assert releases(engine, {"X-Canary": "yes"}) == {"v2"}
        assert releases(engine, {"X-Canary": "no"}) == {"v1"}
        shown = reports.status(engine.env, store=store, backends=engine.backends)
        canaries = sorted(i["slot"] for i in shown["instances"] if i["version"] == "v2")
        assert shown["header_routes"] == [
            {"match": "header", "name": "x-canary", "value": "yes", "slots": canaries}
        ]
        control.send(engine.env, store, "abort", who="tester")
        thread.join(timeout=60)
        assert result[0].deployment.status == "aborted"
        assert releases(engine, {"X-Canary": "yes"}) == {"v1"}
        assert routes(engine) == {("header", "x-canary"): {}}
        assert (
            reports.status(engine.env, store=store, backends=engine.backends)["header_routes"] == []
        )
        rollback = [s.kind for s in store.steps(dep_id) if s.phase == "rollback"]
        assert rollback[0] == "clear_header_routes"


def test_promotion_removes_the_route(tmp_path: Path) -> None:
    with engine_for(tmp_path, ROUTED) as (engine, store):
        assert engine.deploy("v1").exit_code == 0
        thread, result = in_background(engine, "v2")
        wait_for_step(store, engine, "gate")
        assert releases(engine, {"X-Canary": "yes"}) == {"v2"}
        control.send(engine.env, store, "promote", who="tester")
        thread.join(timeout=60)
        assert result[0].exit_code == 0, result[0].deployment.reason
        assert routes(engine) == {("header", "x-canary"): {}}
        assert releases(engine, {"X-Canary": "yes"}) == releases(engine) == {"v2"}
