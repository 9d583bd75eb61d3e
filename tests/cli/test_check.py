"""`slipway check` and the pre-flight that `slipway deploy` runs first, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from slipway.spec import load_spec
from slipway.spec.digest import spec_digest
from slipway.store import Store
from slipway.store.records import Records

SLIPWAY = [sys.executable, "-m", "slipway"]
PASSING = f"""
checks:
  - {{type: command, name: unit tests, command: [{sys.executable}, -c, "print('ok')"], owner: DevOps}}
  - {{type: disk, path: /, min_free_percent: 1}}
  - {{type: manual, name: customer told, owner: Project manager}}
"""
FAILING = f"""
checks:
  - {{type: command, name: unit tests, command: [{sys.executable}, -c, "raise SystemExit('3 failed')"]}}
  - {{type: env, variables: [SHOP_SECRET_KEY]}}
"""
FROZEN = """
window:
  timezone: Europe/Paris
  freezes: [{name: the big freeze, start: 2000-01-01, end: 2999-12-31}]
"""


def slipway(
    *args: str | Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(extra_env or {})}
    env.pop("SHOP_SECRET_KEY", None)
    return subprocess.run(
        [*SLIPWAY, *map(str, args)], capture_output=True, text=True, timeout=180, env=env
    )


def append(spec_file: Path, text: str) -> None:
    spec_file.write_text(spec_file.read_text() + text)


def store_of(spec_file: Path) -> Store:
    return Store.for_state_dir(load_spec(spec_file).environment("test").state_dir.parent)


def test_check_go_table_and_json(spec_file: Path) -> None:
    append(spec_file, PASSING)
    result = slipway("check", "-f", spec_file)
    assert result.returncode == 0, result.stderr
    assert "Go: 2 checks passed" in result.stdout
    assert "customer told" in result.stdout and "Project manager" in result.stdout
    data = json.loads(slipway("check", "-f", spec_file, "--output", "json").stdout)
    assert data["verdict"] == "go"
    assert [c["status"] for c in data["checks"]] == ["pass", "pass", "manual"]


def test_check_no_go_exits_4_and_never_prints_values(spec_file: Path) -> None:
    append(spec_file, FAILING)
    result = slipway("check", "-f", spec_file, "--output", "json")
    assert result.returncode == 4
    data = json.loads(result.stdout)
    assert data["verdict"] == "no_go"
    assert "3 failed" in data["checks"][0]["evidence"]
    assert "not set: SHOP_SECRET_KEY" in data["checks"][1]["evidence"]


def test_deploy_no_go_touches_nothing_and_is_recorded(spec_file: Path) -> None:
    append(spec_file, FAILING)
    result = slipway("deploy", "-f", spec_file, "--version", "v1")
    assert result.returncode == 4
    assert "No-Go" in result.stdout and "nothing was touched" in result.stderr
    env = load_spec(spec_file).environment("test")
    assert not (env.state_dir / "run" / "supervisord.pid").exists()
    assert not (env.state_dir / "releases" / "v1").exists()
    store = store_of(spec_file)
    assert store.deployments("shop", "test") == []
    [run] = Records(store).check_runs("shop", "test")
    assert (run.purpose, run.verdict, run.version, run.deployment_id) == (
        "deploy",
        "no_go",
        "v1",
        None,
    )


def test_closed_window_needs_an_override_with_a_reason(spec_file: Path) -> None:
    append(spec_file, FROZEN)
    refused = slipway("check", "-f", spec_file)
    assert refused.returncode == 4
    assert "frozen: the big freeze" in refused.stdout
    short = slipway("check", "-f", spec_file, "--override-window", "because")
    assert short.returncode == 2 and "needs a reason" in short.stderr
    allowed = slipway(
        "check",
        "-f",
        spec_file,
        "--override-window",
        "hotfix for the payment outage",
        "--output",
        "json",
        extra_env={"SLIPWAY_USER": "alice"},
    )
    assert allowed.returncode == 0, allowed.stdout
    window = json.loads(allowed.stdout)["checks"][0]
    assert window["status"] == "pass"
    assert "overridden by alice: hotfix for the payment outage" in window["evidence"]


def test_deploy_after_go_records_digest_author_commit_and_changes(spec_file: Path) -> None:
    append(spec_file, PASSING)
    result = slipway(
        "deploy",
        "-f",
        spec_file,
        "--version",
        "v1",
        "--commit",
        "abc1234",
        "--change",
        "new checkout page",
        "--change",
        "fix mobile cart",
        extra_env={"SLIPWAY_USER": "antoine"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    store = store_of(spec_file)
    [dep] = store.deployments("shop", "test")
    records = Records(store)
    note = records.deployment_note(dep.id)
    assert note is not None
    assert note.spec_digest == spec_digest(load_spec(spec_file).environment("test"))
    assert (note.who, note.commit_id) == ("antoine", "abc1234")
    assert note.changes == ["new checkout page", "fix mobile cart"]
    [run] = records.check_runs("shop", "test")
    assert (run.verdict, run.deployment_id) == ("go", dep.id)


def test_deploy_with_an_override_records_it_on_the_deployment(spec_file: Path) -> None:
    append(spec_file, FROZEN)
    result = slipway(
        "deploy", "-f", spec_file, "--version", "v1", "--override-window",
        "hotfix for the payment outage", extra_env={"SLIPWAY_USER": "alice"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    store = store_of(spec_file)
    [dep] = store.deployments("shop", "test")
    messages = [e.message for e in store.events(dep.id) if e.level == "warning"]
    assert "deploy window overridden by alice: hotfix for the payment outage" in messages
    [run] = Records(store).check_runs("shop", "test")
    assert (run.override, run.who, run.deployment_id) == (
        "hotfix for the payment outage",
        "alice",
        dep.id,
    )


def test_check_with_a_version_asks_staging(spec_file: Path) -> None:
    append(spec_file, "\nchecks:\n  - {type: staged, environment: staging, owner: QA}\n")
    refused = slipway("check", "-f", spec_file, "--version", "v2", "--output", "json")
    assert refused.returncode == 4
    assert json.loads(refused.stdout)["checks"][0]["evidence"] == (
        "v2 was never deployed successfully to staging"
    )
    store = store_of(spec_file)
    dep = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep, app="shop", environment="staging", kind="deploy", version="v2",
        previous_version=None, strategy="rolling",
    )  # fmt: skip
    store.update_deployment(dep, status="succeeded", ended_at=store.now())
    assert slipway("check", "-f", spec_file, "--version", "v2").returncode == 0
    unknown = slipway("check", "-f", spec_file, "--output", "json")
    assert unknown.returncode == 4
    assert json.loads(unknown.stdout)["checks"][0]["status"] == "inconclusive"
