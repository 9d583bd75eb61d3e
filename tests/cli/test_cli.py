"""The command line as a user runs it: real processes, exit codes, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slipway.store import Store

SLIPWAY = [sys.executable, "-m", "slipway"]


def slipway(
    *args: str | Path, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SLIPWAY, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def test_init_writes_a_spec_that_validates(tmp_path: Path) -> None:
    result = slipway("init", "--app", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / "releases").mkdir()
    result = slipway("validate", "--output", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "valid": True,
        "app": "shop",
        "environments": ["staging", "production"],
        "fleets": {},  # no ssh target: no inventory to read
    }
    again = slipway("init", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


def test_bad_spec_exits_2_with_location_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "slipway.yaml").write_text("app: shop\nrelease: {path: x}\nprocess: [\n")
    result = slipway("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "slipway.yaml:" in result.stderr and "Traceback" not in result.stderr


def test_missing_spec_file_is_a_usage_error(tmp_path: Path) -> None:
    result = slipway("status", "-f", tmp_path / "none.yaml")
    assert result.returncode == 2
    assert "slipway init" in result.stderr


@pytest.mark.parametrize("version", ["v1;rm -rf /", "$(id)", "../etc", "v 1", "`x`", ""])
def test_version_with_shell_metacharacters_is_refused(spec_file: Path, version: str) -> None:
    for command in ("plan", "deploy"):
        result = slipway(command, "-f", spec_file, "--version", version)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert "invalid version" in result.stderr
        assert "Traceback" not in result.stderr


def test_schema_is_json_schema() -> None:
    result = slipway("schema")
    schema = json.loads(result.stdout)
    assert schema["title"] == "Spec" and "environments" in schema["properties"]


def test_plan_touches_nothing(spec_file: Path) -> None:
    result = slipway("plan", "-f", spec_file, "--version", "v1", "--output", "json")
    assert result.returncode == 0, result.stderr
    steps = json.loads(result.stdout)["steps"]
    assert [s["kind"] for s in steps][:3] == ["prepare_release", "ensure_infra", "start_instance"]
    state = spec_file.parent / "state"
    # nothing was started or built: no run directory, no release
    assert not (state / "test" / "run" / "sv.sock").exists()
    assert not (state / "test" / "releases").exists()


def test_deploy_status_history_logs_and_down(spec_file: Path) -> None:
    deployed = slipway("deploy", "-f", spec_file, "--version", "v1")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    status = json.loads(slipway("status", "-f", spec_file, "-o", "json").stdout)
    assert status["current"]["version"] == "v1"
    assert sum(i["serving"] for i in status["instances"]) == 3
    assert status["problems"] == [] and status["interrupted"] is None
    history = json.loads(slipway("history", "-f", spec_file, "-o", "json").stdout)["deployments"]
    assert [d["status"] for d in history] == ["succeeded"]
    by_host = slipway("history", "-f", spec_file, "--host", "web1")
    assert by_host.returncode == 2 and "runs on no SSH hosts" in by_host.stderr
    logs = json.loads(slipway("logs", "-f", spec_file, history[0]["id"], "-o", "json").stdout)
    assert logs["steps"] and all(s["state"] == "succeeded" for s in logs["steps"])
    assert logs["events"]
    down = slipway("down", "-f", spec_file)
    assert down.returncode == 0, down.stderr
    status = json.loads(slipway("status", "-f", spec_file, "-o", "json").stdout)
    assert not any(i["serving"] for i in status["instances"])
    assert any("nothing serves v1" in p for p in status["problems"])


def test_broken_release_exits_3(spec_file: Path) -> None:
    assert slipway("deploy", "-f", spec_file, "--version", "v1").returncode == 0
    result = slipway("deploy", "-f", spec_file, "--version", "v3")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "rolled_back" in result.stdout


def test_second_concurrent_deploy_is_refused_with_exit_4(spec_file: Path) -> None:
    first = subprocess.Popen(
        [*SLIPWAY, "deploy", "-f", str(spec_file), "--version", "v1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        store = Store.for_state_dir(spec_file.parent / "state")
        deadline = time.monotonic() + 30
        while store.lock("shop", "test") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        lock = store.lock("shop", "test")
        store.close()
        assert lock is not None, "the first deploy never took the lock"
        second = slipway("deploy", "-f", spec_file, "--version", "v2")
        assert second.returncode == 4, second.stdout + second.stderr
        assert f"locked by deployment {lock.deployment_id}" in second.stderr
        assert f":{first.pid}" in second.stderr
    finally:
        assert first.wait(timeout=60) == 0


def test_demo_json_has_the_phases(spec_file: Path) -> None:
    result = slipway("demo", "-f", spec_file, "--output", "json", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    phases = json.loads(result.stdout)["phases"]
    dashboard = json.loads(result.stdout)["dashboard"]
    assert dashboard["url"].startswith("http://127.0.0.1:")
    assert dashboard["viewer_token"].startswith("slw_")
    assert [(p["version"], p["strategy"], p["outcome"]) for p in phases] == [
        ("v1", "rolling", "succeeded"),
        ("v2", "rolling", "succeeded"),
        ("v3", "rolling", "rolled_back"),
        ("v4", "canary", "rolled_back"),
        ("v6", "blue-green", "rolled_back"),
        ("v7", "flag", "rolled_back"),
    ]
    for phase in phases:
        assert set(phase) >= {
            "version",
            "strategy",
            "outcome",
            "duration_s",
            "requests",
            "failed_requests",
            "rollback_s",
            "decision_s",
        }
    assert phases[1]["requests"] > 100 and phases[1]["failed_requests"] == 0
    assert phases[2]["failed_requests"] == 0 and phases[2]["rollback_s"] is not None
    assert phases[0]["rollback_s"] is None
    canary, blue_green = phases[3], phases[4]
    assert canary["decision_s"] is not None and canary["decision_s"] > 0
    # only the canary's 10 % share saw its 5 % of errors
    assert canary["failed_requests"] < canary["requests"] * 0.05
    assert blue_green["failed_requests"] == 0 and blue_green["rollback_s"] is not None
    assert blue_green["served_at_end"] == "v2"


def test_deploy_of_a_missing_release_directory_exits_2(tmp_path: Path) -> None:
    assert slipway("init", "--app", "shop", cwd=tmp_path).returncode == 0
    (tmp_path / "releases").mkdir()
    result = slipway("deploy", "--env", "staging", "--version", "1.0", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "releases/1.0 does not exist" in result.stderr and "Traceback" not in result.stderr


def test_down_waits_for_the_lock_unless_forced_and_force_is_recorded(spec_file: Path) -> None:
    assert slipway("deploy", "-f", spec_file, "--version", "v1").returncode == 0
    with spec_file.open("a") as f:
        f.write("go_no_go: {approvers: [alice], timeout_s: 120}\n")
    waiting = subprocess.Popen(
        [*SLIPWAY, "deploy", "-f", str(spec_file), "--version", "v2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        store = Store.for_state_dir(spec_file.parent / "state")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            deps = store.deployments("shop", "test")
            if (
                deps
                and deps[0].version == "v2"
                and any(s.kind == "gate" and s.state == "running" for s in store.steps(deps[0].id))
            ):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("v2 never reached its Go/No-Go gate")
        refused = slipway("down", "-f", spec_file)
        assert refused.returncode == 4, refused.stdout + refused.stderr
        assert "locked by deployment" in refused.stderr and "--force" in refused.stderr
        status = json.loads(slipway("status", "-f", spec_file, "-o", "json").stdout)
        assert sum(i["serving"] for i in status["instances"]) == 3  # v1 still serves
        forced = slipway("down", "-f", spec_file, "--force")
        assert forced.returncode == 0, forced.stdout + forced.stderr
        events = [e.message for e in store.events(deps[0].id)]
        assert any("`slipway down --force` by" in m for m in events), events
        store.close()
    finally:
        waiting.kill()
        waiting.wait(timeout=30)
