"""One deployment path: ``Deployer`` from Python gives exactly what ``slipway deploy`` gives.

The same scenario — a pre-flight with a command check, a webhook receiver for notifications, a
runbook document written beforehand, then v1 and v2 deployed — runs once through the CLI as a
user runs it and once through the library, each on its own environment (real supervisord,
HAProxy and sample app). Their records, their notifications and their refreshed documents must
be the same, once ids, times and ports are set aside.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.deployment import Deployer, PreflightNoGo, Request
from slipway.errors import LockedError
from slipway.runbook.facts import gather
from slipway.runbook.refresh import write_document
from slipway.spec import load_spec
from slipway.spec.digest import spec_digest
from slipway.store import Store
from slipway.store.records import Records
from tests.conftest import stop_environment
from tests.notify.conftest import Receiver, receiver  # noqa: F401  (fixture)
from tests.support.sample import write_sample_spec

EXTRA = f"""
checks:
  - {{type: command, name: unit tests, command: [{sys.executable}, -c, "print('ok')"], owner: QA}}
notifications:
  - {{type: webhook, url_env: HOOK_URL, retries: 0}}
"""
WHO = {"who": "antoine", "commit": "abc1234", "changes": ["new checkout page"]}


def _through_cli(spec: Path, version: str, hook: str) -> None:
    env = {**os.environ, "HOOK_URL": hook, "SLIPWAY_USER": WHO["who"]}
    args = ["deploy", "-f", str(spec), "-v", version, "--commit", WHO["commit"]]
    args += [arg for change in WHO["changes"] for arg in ("--change", change)]
    done = subprocess.run(
        [sys.executable, "-m", "slipway", *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _through_python(spec: Path, version: str, hook: str) -> None:
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        deployer = Deployer(env, store=store, backends=backends, environ={"HOOK_URL": hook})
        request = Request(who=WHO["who"], commit=WHO["commit"], changes=WHO["changes"])
        assert deployer.deploy(version, request).exit_code == 0
    finally:
        backends.close()
        store.close()


def _normalised(spec: Path) -> dict[str, Any]:
    """What was recorded, with ids, times, ports and paths replaced by placeholders."""
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    records = Records(store)
    try:
        deployments = list(reversed(store.deployments("shop", "test")))
        ids = {d.id: f"D{i}" for i, d in enumerate(deployments)}
        result: dict[str, Any] = {"deployments": [], "check_runs": []}
        for dep in deployments:
            note = records.deployment_note(dep.id)
            assert note is not None
            result["deployments"].append(
                {
                    "kind": dep.kind,
                    "version": dep.version,
                    "previous": dep.previous_version,
                    "status": dep.status,
                    "note": (note.who, note.commit_id, note.changes),
                    "digest_is_the_specs": note.spec_digest == spec_digest(env),
                    "steps": [(s.phase, s.kind, s.state) for s in store.steps(dep.id)],
                    "events": [_plain(e.message, ids) for e in store.events(dep.id)],
                }
            )
        for run in reversed(records.check_runs("shop", "test")):
            result["check_runs"].append(
                (run.purpose, run.verdict, run.version, ids.get(run.deployment_id or ""), run.who)
            )
        return result
    finally:
        store.close()


def _plain(text: str, ids: dict[str, str]) -> str:
    for real, placeholder in ids.items():
        text = text.replace(real, placeholder)
    return re.sub(r"\d+\.\d+s", "<s>", text)


def _document(spec: Path, ids: dict[str, str]) -> str:
    text = (spec.parent / "docs" / "runbooks" / "deployment.md").read_text()
    text = _plain(text, ids)
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:\d\d)?", "<t>", text)
    text = re.sub(r"\b\d{4,5}\b", "<port>", text)  # ports of the environment
    text = re.sub(r"sha256:[0-9a-f]+", "<digest>", text)  # of the spec: its ports differ
    return text.replace(str(spec.parent), "<dir>")


HOLDER = """
import sys, time
from pathlib import Path
from slipway.store import Store
store = Store.for_state_dir(Path(sys.argv[1]))
store.acquire_lock("shop", "test", deployment_id="someone-else", ttl_s=600)
print("held", flush=True)
time.sleep(120)
"""


@contextmanager
def _another_runner_holding(state: Path, store: Store) -> Iterator[None]:
    """A second runner, in its own process, holding the environment's lock until we stop it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.communicate(timeout=10)


@pytest.fixture
def two_environments(tmp_path: Path) -> Any:
    specs = []
    for side in ("cli", "python"):
        (tmp_path / side).mkdir()
        spec = write_sample_spec(tmp_path / side, count=2, extra=EXTRA)
        env = load_spec(spec).environment("test")
        store = Store.for_state_dir(env.state_dir.parent)
        try:
            write_document(env, gather(env, store), "en")  # the document exists before
        finally:
            store.close()
        specs.append(spec)
    yield specs
    for spec in specs:
        stop_environment(load_spec(spec).environment("test"))


def test_the_library_and_the_cli_deploy_alike(
    two_environments: list[Path],
    receiver: Receiver,  # noqa: F811
) -> None:
    cli_spec, python_spec = two_environments
    for version in ("v1", "v2"):
        _through_cli(cli_spec, version, receiver.url("/cli"))
        _through_python(python_spec, version, receiver.url("/python"))
    by_cli, by_python = _normalised(cli_spec), _normalised(python_spec)
    assert len(by_cli["deployments"]) == len(by_python["deployments"]) == 2
    for cli_dep, python_dep in zip(by_cli["deployments"], by_python["deployments"], strict=True):
        for key, value in cli_dep.items():
            assert value == python_dep[key], key
    assert by_cli["check_runs"] == by_python["check_runs"]
    assert [run[:4] for run in by_cli["check_runs"]] == [
        ("deploy", "go", "v1", "D0"),
        ("deploy", "go", "v2", "D1"),
    ]
    sent = {"/cli": [], "/python": []}  # type: dict[str, list[Any]]
    for path, body in zip(receiver.paths, receiver.requests, strict=True):
        fields = {
            k: v for k, v in body["fields"].items() if k not in ("Deployment", "Time", "Duration")
        }
        sent[path].append((body["event"], fields, body["changes"], body["title"]))
    assert sent["/cli"] == sent["/python"]
    assert [s[0] for s in sent["/cli"]] == ["started", "succeeded", "started", "succeeded"]
    ids = {}
    for spec in two_environments:
        store = Store.for_state_dir(load_spec(spec).environment("test").state_dir.parent)
        ids[spec] = {
            d.id: f"D{i}" for i, d in enumerate(reversed(store.deployments("shop", "test")))
        }
        store.close()
    assert _document(cli_spec, ids[cli_spec]) == _document(python_spec, ids[python_spec])
    assert "v2" in _document(cli_spec, ids[cli_spec])


def test_a_refused_runner_runs_no_pre_flight_and_a_no_go_touches_nothing(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "checked"
    extra = f"""
checks:
  - {{type: command, name: touch, command: [{sys.executable}, -c, "open({str(marker)!r}, 'a').write('x')"]}}
  - {{type: env, variables: [NOT_SET_ANYWHERE]}}
"""
    spec = write_sample_spec(tmp_path, count=1, extra=extra)
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        deployer = Deployer(env, store=store, backends=backends, environ={})
        with _another_runner_holding(env.state_dir.parent, store):
            with pytest.raises(LockedError):
                deployer.deploy("v1")
            assert not marker.exists()  # the lock came first: nothing of the checklist ran
        with pytest.raises(PreflightNoGo) as no_go:
            deployer.deploy("v1")
        assert marker.exists() and not no_go.value.verdict.go
        assert store.deployments("shop", "test") == [] and store.lock("shop", "test") is None
        assert not (env.state_dir / "releases" / "v1").exists()
        [run] = Records(store).check_runs("shop", "test")
        assert json.dumps(run.results).count("NOT_SET_ANYWHERE") == 1
    finally:
        backends.close()
        store.close()
        stop_environment(env)


def test_plan_from_python_is_what_slipway_plan_prints(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, extra=EXTRA)
    done = subprocess.run(
        [sys.executable, "-m", "slipway", "plan", "-f", str(spec), "-v", "v1", "-o", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        deployer = Deployer(env, store=store, backends=backends)
        live = deployer.plan("v1")
        assert live.as_dict("test") == json.loads(done.stdout)
        assert [c["name"] for c in live.preflight] == ["unit tests"]
        assert live.steps and live.placement_from == "supervisord and HAProxy"
        offline = deployer.plan("v1", offline=True)
        assert offline.placement_from == "the store's records"
        assert [s.kind for s in offline.steps] == [s.kind for s in live.steps]  # nothing runs
    finally:
        backends.close()
        store.close()
        stop_environment(env)
