"""A host failing in the middle of a rollout: the batch fails, the policy decides, hosts named."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from slipway import reports
from slipway.backends import Backends
from slipway.backends.placement import read_placement
from slipway.clock import SystemClock
from slipway.engine import Engine, NullObserver
from slipway.spec import load_spec
from slipway.store import Store
from tests.support.hosts import TestFleet, write_fleet_spec

FAST = "{type: rolling, batch_size: 100%, max_surge: 100%}"
ONE_BY_ONE = "{type: rolling, batch_size: 1, max_surge: 1, max_unavailable: 0}"


class CutOff(NullObserver):
    """Cuts ``host`` off the network the moment the step ``trigger`` starts."""

    def __init__(self, fleet: TestFleet, host: str, trigger: str) -> None:
        self.fleet, self.host, self.trigger, self.done = fleet, host, trigger, False

    def step(self, seq: int, description: str, state: str, error: str | None) -> None:
        if state == "running" and description == self.trigger and not self.done:
            self.done = True
            self.fleet.host(self.host).cut()


@contextmanager
def fleet_engine(spec: Path, observer: NullObserver | None = None) -> Iterator[Engine]:
    env = load_spec(spec).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    backends = Backends.for_environment(env, clock=SystemClock())
    try:
        yield Engine(env, store=store, backends=backends, observer=observer)
    finally:
        backends.close()
        store.close()


def deploy_v1(fleet: TestFleet, directory: Path) -> None:
    with fleet_engine(write_fleet_spec(directory, fleet, strategy=FAST)) as engine:
        first = engine.deploy("v1")
        assert first.exit_code == 0, first.deployment.reason


def serving(engine: Engine) -> dict[str, str]:
    return {p.slot: p.version for p in read_placement(engine.backends) if p.serving}


def current_on(fleet: TestFleet, host: str) -> str:
    return os.readlink(fleet.host(host).srv / "shop" / "current")


def test_host_cut_off_mid_rollout_rolls_back_the_others_and_names_it(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(6)
    deploy_v1(fleet, tmp_path)
    spec = write_fleet_spec(tmp_path, fleet, strategy=ONE_BY_ONE, command_timeout_s=3)
    cut = CutOff(fleet, "h3", "start v2 in h3-1_b (port 9101)")
    with fleet_engine(spec, cut) as engine:
        outcome = engine.deploy("v2")
        assert cut.done
        assert outcome.exit_code == 3, outcome.deployment.reason
        assert outcome.deployment.status == "rolled_back"
        assert "h3" in (outcome.deployment.reason or "")
        # every host that answers serves v1 again; h3 is left as it was, and named
        assert serving(engine) == {f"h{i}-1_a": "v1" for i in (1, 2, 4, 5)}
        assert {i.version for i in engine.backends.target.instances()} == {"v1"}
        log = reports.logs(engine.env, store=engine.store, deployment=outcome.deployment.id)
        status = reports.status(engine.env, store=engine.store, backends=engine.backends)
        assert any(p.startswith("host h3 does not answer") for p in status["problems"])
    hosts = log["hosts"]
    assert hosts["h3"].startswith("FAILED")
    # cut off: the command timed out, or the keepalives closed the connection first
    assert "no answer" in hosts["h3"] or "connection closed" in hosts["h3"], hosts["h3"]
    assert {hosts[h] for h in ("h1", "h2", "h4", "h5")} == {"rolled back to v1"}
    h3_rollback = [
        s for s in log["steps"] if s["phase"] == "rollback" and "h3-" in s["description"]
    ]
    assert h3_rollback and {s["state"] for s in h3_rollback} == {"skipped"}
    for host in ("h1", "h2", "h4", "h5"):
        assert current_on(fleet, host) == "releases/v1"


def test_with_continue_the_rollout_goes_on_without_a_cut_off_host(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(6)
    deploy_v1(fleet, tmp_path)
    policy = "on_host_failure: continue\nmax_fail_percentage: 20"
    spec = write_fleet_spec(
        tmp_path, fleet, strategy=ONE_BY_ONE, command_timeout_s=3, target_extra=policy
    )
    cut = CutOff(fleet, "h3", "start v2 in h3-1_b (port 9101)")
    with fleet_engine(spec, cut) as engine:
        outcome = engine.deploy("v2")
        assert outcome.deployment.status == "succeeded", outcome.deployment.reason
        # succeeded, but not everywhere: a pipeline must be able to tell (exit 5, not 0)
        assert outcome.failed_hosts == ("h3",) and outcome.exit_code == 5
        assert serving(engine) == {f"h{i}-1_b": "v2" for i in (1, 2, 4, 5)}
        log = reports.logs(engine.env, store=engine.store, deployment=outcome.deployment.id)
    assert log["hosts"]["h3"].startswith("FAILED")
    assert {log["hosts"][h] for h in ("h1", "h2", "h4", "h5")} == {"runs v2"}
    skipped = {s["description"] for s in log["steps"] if s["state"] == "skipped"}
    assert "health check h3-1_b" in skipped and "send traffic to h3-1_b" in skipped
    assert current_on(fleet, "h4") == "releases/v2"
    assert current_on(fleet, "h3") == "releases/v1"  # read from outside: it is cut off


def test_too_many_failed_hosts_roll_everything_back(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(4)
    deploy_v1(fleet, tmp_path)
    policy = "on_host_failure: continue\nmax_fail_percentage: 34"
    spec = write_fleet_spec(
        tmp_path, fleet, strategy=ONE_BY_ONE, command_timeout_s=3, target_extra=policy
    )
    first = CutOff(fleet, "h1", "start v2 in h1-1_b (port 9101)")
    second = CutOff(fleet, "h2", "start v2 in h2-1_b (port 9101)")

    class Both(NullObserver):
        def step(self, seq: int, description: str, state: str, error: str | None) -> None:
            first.step(seq, description, state, error)
            second.step(seq, description, state, error)

    with fleet_engine(spec, Both()) as engine:
        outcome = engine.deploy("v2")
        assert outcome.exit_code == 3
        assert "2 of 3 hosts failed (h1, h2)" in (outcome.deployment.reason or "")
        assert "max_fail_percentage 34%" in (outcome.deployment.reason or "")
        assert serving(engine) == {"h3-1_a": "v1"}


def test_full_disk_fails_its_host_only_and_names_it(
    make_hosts: Callable[..., TestFleet], tmp_path: Path
) -> None:
    fleet = make_hosts(4)
    deploy_v1(fleet, tmp_path)
    # h2's releases/ becomes a tiny file system holding v1 and no room for another release
    fleet.host("h2").run_inside(
        "set -e; r=/srv/shop/releases; cp -a $r/v1 /tmp/v1; "
        "mount -t tmpfs -o size=28k tmpfs $r; cp -a /tmp/v1 $r/v1"
    )
    policy = "on_host_failure: continue\nmax_fail_percentage: 34"
    spec = write_fleet_spec(tmp_path, fleet, strategy=FAST, target_extra=policy)
    with fleet_engine(spec) as engine:
        outcome = engine.deploy("v2")
        assert outcome.deployment.status == "succeeded", outcome.deployment.reason
        assert outcome.exit_code == 5  # succeeded without the full host: exit 5, not 0
        assert serving(engine) == {"h1-1_b": "v2", "h3-1_b": "v2"}
        log = reports.logs(engine.env, store=engine.store, deployment=outcome.deployment.id)
    assert "No space left on device" in log["hosts"]["h2"]
    assert current_on(fleet, "h2") == "releases/v1"
