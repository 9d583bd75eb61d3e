"""The spec's checklist made concrete against real things: a real HTTP server, real commands,
the local disk, the store; every run recorded."""

from __future__ import annotations

import sys
from pathlib import Path

from slipway.checks.window import WindowOverride
from slipway.clock import ManualClock
from slipway.preflight import preflight_items, run_checks
from slipway.spec import load_spec
from slipway.spec.environment import Environment
from slipway.store import Store
from slipway.store.records import Records
from tests.support.sample import free_port_range

SPEC = """\
version: 1
app: shop
release: {{path: "releases/{{version}}"}}
process: {{command: [python3, server.py]}}
window:
  timezone: UTC
  allow: [{{days: [mon, tue, wed, thu, fri], hours: "09:00-17:00"}}]
checks:
  - {{type: command, name: unit tests, command: [{python}, -c, "print('42 passed')"]}}
  - {{type: http, name: upstream status, url: "http://127.0.0.1:{app_port}/health"}}
  - {{type: http, name: payment api, url: "http://127.0.0.1:{closed_port}/", blocking: false}}
  - {{type: disk, path: /, min_free_percent: 1}}
  - {{type: env, variables: [SHOP_SECRET]}}
  - {{type: manual, name: customer told, owner: Project manager}}
  - {{type: database, owner: DBA}}
environments:
  production:
    router: {{type: haproxy, listen: "127.0.0.1:8080"}}
    instances: {{count: 1, base_port: 9101}}
"""


def environment(tmp_path: Path, app_port: int) -> Environment:
    (tmp_path / "releases").mkdir(exist_ok=True)
    path = tmp_path / "slipway.yaml"
    closed = free_port_range(1)
    path.write_text(SPEC.format(python=sys.executable, app_port=app_port, closed_port=closed))
    return load_spec(path).environment("production")


def test_checklist_against_real_things(tmp_path: Path, sample_app: int) -> None:
    env = environment(tmp_path, sample_app)
    store = Store.for_state_dir(tmp_path / "state")
    clock = ManualClock()  # a Monday, 10:00 UTC: the window is open
    verdict, run_id = run_checks(
        env, store=store, clock=clock, purpose="check", environ={"SHOP_SECRET": "x" * 40}
    )
    rows = {r.name: r for r in verdict.rows}
    assert list(rows) == [
        "deploy window",
        "unit tests",
        "upstream status",
        "payment api",
        "disk / >= 1% free on local",
        "environment and secrets",
        "customer told",
        "database reachable",
    ]
    assert rows["deploy window"].status == "pass"
    assert rows["unit tests"].status == "pass" and "42 passed" in rows["unit tests"].evidence
    assert rows["upstream status"].status == "pass"
    assert rows["payment api"].status == "warn"  # refused, but not blocking
    assert rows["disk / >= 1% free on local"].status == "pass"
    assert rows["environment and secrets"].status == "pass"
    assert rows["customer told"].status == "manual"
    assert rows["customer told"].owner == "Project manager"
    # a database check with no `database:` section cannot pass
    assert rows["database reachable"].status == "fail"
    assert "no `database:` section" in rows["database reachable"].evidence
    assert not verdict.go
    [run] = Records(store).check_runs("shop", "production")
    assert run.id == run_id and run.verdict == "no_go" and run.purpose == "check"
    assert [r["name"] for r in run.results] == list(rows)


def test_closed_window_is_no_go_until_overridden_and_the_reason_is_recorded(
    tmp_path: Path, sample_app: int
) -> None:
    env = environment(tmp_path, sample_app)
    env = env.model_copy(update={"checks": []})
    store = Store.for_state_dir(tmp_path / "state")
    saturday = ManualClock()
    saturday.sleep(5 * 86400)
    verdict, _ = run_checks(env, store=store, clock=saturday, purpose="deploy", version="v2")
    assert not verdict.go and verdict.failures[0].name == "deploy window"
    override = WindowOverride.create("fix for the checkout outage", who="alice")
    verdict, _ = run_checks(
        env, store=store, clock=saturday, purpose="deploy", version="v2", override=override
    )
    assert verdict.go
    last, first = Records(store).check_runs("shop", "production")
    assert first.verdict == "no_go" and first.override is None
    assert last.verdict == "go" and last.who == "alice"
    assert last.override == "fix for the checkout outage"
    assert last.version == "v2"


def test_no_checks_and_no_window_is_an_empty_go(tmp_path: Path, sample_app: int) -> None:
    env = environment(tmp_path, sample_app).model_copy(update={"checks": [], "window": None})
    store = Store.for_state_dir(tmp_path / "state")
    assert preflight_items(env, store=store, clock=ManualClock()) == []
    verdict, _ = run_checks(env, store=store, clock=ManualClock(), purpose="check")
    assert verdict.go and verdict.rows == ()
