"""Actions through the API on a real deployment of the sample app waiting at its Go/No-Go:
the token's role and environments decide who may act, the signal is the one the CLI sends
(``engine.control``) with the token's name as who acted, the gate's own rules still hold
(the deployer may not say Go), and an ``Idempotency-Key`` makes a retry act once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.deployment import Deployer, Request
from slipway.engine import Outcome, control
from slipway.store.records import Records
from tests.conftest import stop_environment
from tests.server.kit import Served, serve, write_spec

GATE = "go_no_go: {distinct_from_deployer: true, timeout_s: 120}\n"


@contextmanager
def at_the_gate(tmp_path: Path, who: str) -> Iterator[tuple[Served, str]]:
    """The server, and a deployment of v1 to production started by ``who``, at its gate."""
    with serve(write_spec(tmp_path, extra=GATE)) as served:
        env = served.env("production")
        backends = Backends.for_environment(env, clock=SystemClock())
        deployer = Deployer(env, store=served.store, backends=backends)
        result: list[Outcome] = []
        thread = threading.Thread(
            target=lambda: result.append(deployer.deploy("v1", Request(who=who)))
        )
        thread.start()
        try:
            dep = control.wait_for_step(
                env, served.store, "gate", clock=SystemClock(), timeout_s=60
            )
            yield served, dep.id
        finally:
            if control.running_deployment(env, served.store) is not None:
                control.send(env, served.store, "abort", who="test-teardown")
            thread.join(timeout=120)
            backends.close()
            stop_environment(env)


def test_roles_decide_and_the_gate_still_refuses_the_deployer(tmp_path: Path) -> None:
    with at_the_gate(tmp_path, who="approver") as (served, dep):
        approve = f"/api/v1/deployments/{dep}/approve"
        with served.client("viewer") as viewer, served.client("deployer") as deployer:
            assert viewer.post(approve).status_code == 403
            refused = deployer.post(approve)
            assert refused.status_code == 403 and "needs approver" in refused.json()["error"]
            assert viewer.post(f"/api/v1/deployments/{dep}/abort").status_code == 403
        with served.client("approver") as himself:
            own = himself.post(approve, json={"comment": "mine"})
            assert own.status_code == 409 and "may not say Go" in own.json()["error"]
        assert served.store.signals(dep) == []  # nothing was sent for the refused ones
        with served.client("approver@production") as other:
            key = {"Idempotency-Key": "go-1"}
            said = other.post(approve, json={"comment": "looks good"}, headers=key)
            assert said.status_code == 200, said.text
            assert said.json() == {
                "deployment": dep, "signal": "approve", "by": "approver-prod",
                "heard": True, "outcome": "approved",
            }  # fmt: skip
            again = other.post(approve, json={"comment": "looks good"}, headers=key)
            assert again.json() == said.json() and again.headers["idempotent-replayed"] == "true"
            other_body = other.post(approve, json={"comment": "other"}, headers=key)
            assert other_body.status_code == 409
        (signal,) = served.store.signals(dep)
        assert (signal.actor, signal.token, signal.host) == (
            "approver-prod", "approver-prod", "127.0.0.1",
        )  # fmt: skip
        assert signal.comment == "looks good"
        control.wait_ended(
            served.store, served.store.deployment(dep), clock=SystemClock(), timeout_s=120
        )
        assert served.store.deployment(dep).status == "succeeded"


def test_a_deployer_aborts_and_nothing_is_left_running(tmp_path: Path) -> None:
    with at_the_gate(tmp_path, who="someone") as (served, dep):
        with served.client("deployer@production") as deployer:
            answer = deployer.post(f"/api/v1/deployments/{dep}/abort", json={"comment": "no"})
            assert answer.status_code == 200 and answer.json()["outcome"].startswith("aborted")
        ended = control.wait_ended(
            served.store, served.store.deployment(dep), clock=SystemClock(), timeout_s=120
        )
        assert not ended.active  # a first release aborted ends failed: nothing to go back to
        assert ended.reason == "aborted by deployer-prod (no)"
        with served.client("deployer@production") as deployer:
            late = deployer.post(f"/api/v1/deployments/{dep}/abort")
            assert late.status_code == 409 and "no deployment" in late.json()["error"].lower()


def test_a_deployer_starts_a_deployment_and_rolls_it_back(tmp_path: Path) -> None:
    """``slipway deploy`` and ``slipway rollback`` started by the server as the token's name:
    the same records as from a terminal; a retry with the same key starts nothing more."""
    with serve(write_spec(tmp_path)) as served:
        start = "/api/v1/environments/production/deployments"
        try:
            with served.client("viewer") as viewer:
                assert viewer.post(start, json={"version": "v1"}).status_code == 403
            with served.client("deployer@production") as deployer:
                bad = deployer.post(start, json={"version": "../v1"})
                assert bad.status_code == 400 and "not allowed" in bad.json()["error"]
                assert deployer.post(start, json={"nope": 1}).status_code == 400
                staging = "/api/v1/environments/staging/deployments"
                assert deployer.post(staging, json={"version": "v1"}).status_code == 403
                key = {"Idempotency-Key": "release-v1"}
                started = deployer.post(start, json={"version": "v1"}, headers=key)
                assert started.status_code == 201, started.text
                again = deployer.post(start, json={"version": "v1"}, headers=key)
                assert again.json() == started.json()
            dep = served.store.deployment(started.json()["id"])
            ended = control.wait_ended(served.store, dep, clock=SystemClock(), timeout_s=180)
            assert ended.status == "succeeded", Path(started.json()["log"]).read_text()
            assert len(served.store.deployments("shop", "production")) == 1  # one, for two asks
            note = Records(served.store).deployment_note(dep.id)
            assert note is not None and note.who == "deployer-prod"
            with served.client("deployer@production") as deployer:
                v2 = deployer.post(start, json={"version": "v2"}).json()["id"]
                second = served.store.deployment(v2)
                control.wait_ended(served.store, second, clock=SystemClock(), timeout_s=180)
                stale = deployer.post(f"/api/v1/deployments/{dep.id}/rollback")
                assert stale.status_code == 409 and "not what production runs now" in stale.text
                back = deployer.post(f"/api/v1/deployments/{v2}/rollback")
                assert back.status_code == 202, back.text
            rollback = served.store.deployment(back.json()["rollback"])
            ended = control.wait_ended(served.store, rollback, clock=SystemClock(), timeout_s=180)
            assert (ended.kind, ended.status) == ("rollback", "succeeded")
            current = served.store.current("shop", "production")
            assert current is not None and current.version == "v1"
        finally:
            stop_environment(served.env("production"))
