"""The Go/No-Go's ``quorum`` and ``distinct_from_deployer``: how many different people say Go,
and never the one who started the deployment — through ``Deployer``, as the CLI and the API
run it, on the sample app."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.deployment import Deployer, Request
from slipway.engine import Outcome, control
from slipway.errors import SpecError, UsageError
from slipway.spec import load_spec
from slipway.store import Store
from tests.conftest import stop_environment
from tests.support.sample import write_sample_spec

GATE = (
    "go_no_go: {approvers: [alice, bob, carol], quorum: 2, distinct_from_deployer: true, "
    "timeout_s: 120}\n"
)


@contextmanager
def deployer(tmp_path: Path, extra: str = GATE) -> Iterator[tuple[Deployer, Store]]:
    spec = write_sample_spec(tmp_path, count=1, extra=extra)
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        yield Deployer(env, store=store, backends=backends), store
    finally:
        store.close()
        stop_environment(env)


def deploy_as(who: str, d: Deployer, version: str) -> tuple[threading.Thread, list[Outcome]]:
    result: list[Outcome] = []
    thread = threading.Thread(target=lambda: result.append(d.deploy(version, Request(who=who))))
    thread.start()
    return thread, result


def at_gate(d: Deployer, store: Store) -> str:
    return control.wait_for_step(d.env, store, "gate", clock=SystemClock(), timeout_s=60).id


def test_two_different_people_other_than_the_deployer_say_go(tmp_path: Path) -> None:
    with deployer(tmp_path) as (d, store):
        thread, result = deploy_as("alice", d, "v1")
        dep = at_gate(d, store)
        with pytest.raises(UsageError, match=r"alice started .* may not say Go"):
            control.send(d.env, store, "approve", who="alice")
        control.send(d.env, store, "approve", who="bob", comment="looks good")
        control.send(d.env, store, "approve", who="bob")  # twice is still one person
        control.wait_handled(store, store.signals(dep)[-1], clock=SystemClock(), timeout_s=30)
        assert d.backends.target.instances() == []  # one Go of two: nothing touched yet
        assert [s.outcome for s in store.signals(dep)] == [
            "counted: approval 1 of 2",
            "already counted: 1 of 2",
        ]
        control.send(d.env, store, "approve", who="carol")
        thread.join(timeout=90)
        assert result[0].exit_code == 0, result[0].deployment.reason
        gate = next(s for s in store.steps(dep) if s.kind == "gate")
        assert gate.result is not None
        assert gate.result["approvals"] == ["bob", "carol"]
        messages = [e.message for e in store.events(dep)]
        assert any("2 different people must say Go" in m for m in messages)


def test_the_runner_refuses_the_deployer_even_past_the_early_check(tmp_path: Path) -> None:
    """The sender's check is a courtesy; the gate decides. A signal written straight to the
    store (an old client, another tool) by the deployer is refused and recorded."""
    with deployer(tmp_path, extra=GATE.replace("quorum: 2", "quorum: 1")) as (d, store):
        thread, result = deploy_as("alice", d, "v1")
        dep = at_gate(d, store)
        sent = store.send_signal(dep, "approve", actor="alice")
        heard = control.wait_handled(store, sent, clock=SystemClock(), timeout_s=30)
        assert heard.outcome == (
            "refused: alice started this deployment; another person must say Go"
        )
        control.send(d.env, store, "reject", who="alice", comment="changed my mind")
        thread.join(timeout=90)
        assert result[0].exit_code == 4  # the deployer may still say No-Go
        assert d.backends.target.instances() == []


def test_a_quorum_larger_than_the_approvers_is_a_spec_error(tmp_path: Path) -> None:
    spec = write_sample_spec(tmp_path, count=1, extra="go_no_go: {approvers: [alice], quorum: 2}\n")
    with pytest.raises(SpecError, match="quorum 2 needs at least 2 approvers"):
        load_spec(spec)
