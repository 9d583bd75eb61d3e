"""Several runners on several machines, one PostgreSQL: each runner is a ``slipway`` started
inside a test host (its own network namespace, its own /tmp and state directory), reaching the
team's PostgreSQL on the test network's bridge address — the only address it listens on — and
deploying the same fleet of test hosts over SSH."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from slipway.store import Store
from tests.engine.test_fencing import wait_until
from tests.support import hosts as kit
from tests.support.hosts import TestFleet, TestHost, netns_possible, write_fleet_spec
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.skipif(not netns_possible(), reason="needs network namespaces (root)")
GO_NO_GO = "go_no_go: {approvers: [alice], timeout_s: 120}\n"


@dataclass
class Team:
    fleet: TestFleet
    postgres: PostgresCluster
    url: str
    root: Path

    def spec(self, name: str, extra: str = "") -> Path:
        """A runner's own checkout: the same slipway.yaml, its own state directory."""
        directory = self.root / name
        directory.mkdir(parents=True, exist_ok=True)
        path = write_fleet_spec(directory, self.fleet, command_timeout_s=5)
        path.write_text(path.read_text() + "store: {url_env: TEAM_STORE, lease_ttl_s: 3}\n" + extra)
        return path

    def start(self, host: str, *args: str | Path, user: str = "ci") -> subprocess.Popen[str]:
        """``slipway …`` run on ``host`` (inside its namespaces), against the team's store."""
        inside = self.fleet.host(host)
        argv = ["nsenter", "-t", str(inside.pid), "-m", "-n", "--", sys.executable, "-m",
                "slipway", *map(str, args)]  # fmt: skip
        env = {**os.environ, "TEAM_STORE": self.url, "SLIPWAY_USER": user}
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )

    def run(
        self, host: str, *args: str | Path, user: str = "ci"
    ) -> subprocess.CompletedProcess[str]:
        p = self.start(host, *args, user=user)
        out, err = p.communicate(timeout=180)
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    def store(self) -> Store:
        return Store.open(self.url)


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    with kit.test_hosts(3, tmp_path / "fleet", keep=[tmp_path]) as fleet:
        assert fleet.gateway is not None
        cluster = PostgresCluster(listen=fleet.gateway, allow=f"{fleet.gateway}/24")
        try:
            cluster.start()
            cluster.create_database("team")
            yield Team(fleet, cluster, cluster.url("team"), tmp_path / "runners")
        finally:
            cluster.stop()


def served_version(host: TestHost) -> str:
    return os.path.basename(os.readlink(host.srv / "shop" / "current"))


def test_postgres_listens_on_the_test_network_only(team: Team) -> None:
    listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True).stdout
    ours = [line for line in listening.splitlines() if f":{team.postgres.port} " in line]
    assert ours and all(team.fleet.gateway in line for line in ours), ours  # type: ignore[operator]


def test_five_runners_at_once_one_deploys_the_others_exit_4(team: Team) -> None:
    runners = [("h1", "r1"), ("h2", "r2"), ("h3", "r3"), ("h1", "r4"), ("h2", "r5")]
    started = [
        team.start(host, "deploy", "-f", team.spec(name), "-v", "v1") for host, name in runners
    ]
    results = [(p.wait(timeout=180), p.communicate()[1]) for p in started]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 4, 4, 4, 4], results
    refused = [err for code, err in results if code == 4]
    assert all("is locked by deployment" in err for err in refused), refused
    store = team.store()
    try:
        [dep] = store.deployments("shop", "test")
        assert dep.status == "succeeded" and store.lock("shop", "test") is None
    finally:
        store.close()
    assert {served_version(h) for h in team.fleet.hosts[:2]} == {"v1"}


def test_waiting_runners_deploy_one_after_the_other_in_order(team: Team) -> None:
    """The first runner holds the lock at its Go/No-Go gate until both others are queued, so
    they wait however slowly this machine starts them; then each deploys in queue order."""
    store = team.store()
    try:
        versions = ["v1", "v2", "v7"]  # (the sample app's v3 fails its health check)
        started = [
            team.start("h1", "deploy", "-f", team.spec("r0", GO_NO_GO), "-v", "v1",
                       "--lock-wait", "5m")
        ]  # fmt: skip
        wait_until(lambda: _at_gate(store))
        for n, (host, version) in enumerate(zip(["h2", "h3"], versions[1:], strict=True)):
            started.append(
                team.start(
                    host, "deploy", "-f", team.spec(f"r{n + 1}"), "-v", version, "--lock-wait", "5m"
                )
            )
            wait_until(lambda n=n: len(store.queue("shop", "test")) > n)
        approved = team.run("h1", "approve", "-f", team.spec("r0", GO_NO_GO), user="alice")
        assert approved.returncode == 0, approved.stderr
        outcomes = [p.communicate(timeout=300) for p in started]
        assert [p.returncode for p in started] == [0, 0, 0], outcomes
        for out, err in outcomes[1:]:
            assert "waiting for shop/test: deployment" in err + out
        history = list(reversed(store.deployments("shop", "test")))
        assert [(d.version, d.status) for d in history] == [(v, "succeeded") for v in versions]
        for earlier, later in itertools.pairwise(history):
            assert earlier.ended_at <= later.started_at  # type: ignore[operator]
    finally:
        store.close()
    assert {served_version(h) for h in team.fleet.hosts[:2]} == {"v7"}


def _at_gate(store: Store) -> bool:
    """The newest deployment waits at a gate."""
    deps = store.deployments("shop", "test", limit=1)
    return bool(deps) and any(
        s.kind == "gate" and s.state == "running" for s in store.steps(deps[0].id)
    )


def test_an_approve_from_another_machine_is_heard(team: Team) -> None:
    spec = team.spec("r1", GO_NO_GO)
    runner = team.start("h1", "deploy", "-f", spec, "-v", "v1")
    store = team.store()
    try:
        wait_until(lambda: _at_gate(store))
        approved = team.run("h2", "approve", "-f", team.spec("r2", GO_NO_GO), "-m", "QA signed off",
                            user="alice")  # fmt: skip
        assert approved.returncode == 0 and "approve by alice" in approved.stdout, approved.stderr
        out, err = runner.communicate(timeout=180)
        assert runner.returncode == 0, out + err
        [dep] = store.deployments("shop", "test")
        [sent] = store.signals(dep.id)
        assert (sent.kind, sent.actor, sent.comment, sent.outcome is not None) == (
            "approve", "alice", "QA signed off", True,
        )  # fmt: skip
        assert sent.host and sent.os_user  # the machine, and the OS user beside the claimed name
    finally:
        store.close()


def test_a_runner_killed_mid_rollout_is_resumed_from_another_machine(team: Team) -> None:
    assert team.run("h1", "deploy", "-f", team.spec("r1"), "-v", "v1").returncode == 0
    store = team.store()
    try:
        runner = team.start("h1", "deploy", "-f", team.spec("r1"), "-v", "v2")

        def mid_rollout() -> bool:
            deps = store.deployments("shop", "test", limit=1)
            if not deps or deps[0].version != "v2":
                return False
            return any(
                s.kind == "stop_instance" and s.state != "pending" for s in store.steps(deps[0].id)
            )

        wait_until(mid_rollout)
        # nsenter forks: the runner is its child; kill the whole group of it
        for child in subprocess.run(["pgrep", "-P", str(runner.pid)], capture_output=True,
                                    text=True).stdout.split():  # fmt: skip
            os.kill(int(child), signal.SIGKILL)
        runner.kill()
        runner.communicate()
        resumed = team.run("h2", "resume", "-f", team.spec("r2"))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        [dep, _] = store.deployments("shop", "test")
        assert dep.version == "v2" and dep.status == "succeeded"
        assert any("resumed by" in e.message for e in store.events(dep.id))
        status = json.loads(team.run("h3", "status", "-f", team.spec("r3"), "-o", "json").stdout)
        assert status["current"]["version"] == "v2"
    finally:
        store.close()
    assert {served_version(h) for h in team.fleet.hosts[:2]} == {"v2"}
    assert shutil.which("nsenter")


def _blackhole(host: TestHost, address: str, *, on: bool) -> None:
    """Only the way from ``host`` to ``address`` cut (a route to nowhere in its namespace):
    the team's PostgreSQL unreachable, the fleet's hosts still reachable."""
    assert host.netns is not None
    action = "add" if on else "del"
    subprocess.run(
        ["ip", "-n", host.netns, "route", action, "blackhole", f"{address}/32"], check=True
    )


def test_a_runner_cut_off_from_the_store_stops_and_resume_ends_consistent(team: Team) -> None:
    """The network to PostgreSQL cut mid-rollout: the runner cannot renew its lease, stops
    changing targets and says why; once the link is back, a runner on another machine
    resumes the deployment and store, router and hosts agree."""
    assert team.fleet.gateway is not None
    assert team.run("h1", "deploy", "-f", team.spec("r1"), "-v", "v1").returncode == 0
    store = team.store()
    runner = team.start("h3", "deploy", "-f", team.spec("r3"), "-v", "v2")
    try:

        def rolling() -> bool:
            deps = store.deployments("shop", "test", limit=1)
            return (
                bool(deps)
                and deps[0].version == "v2"
                and any(
                    s.kind == "start_instance" and s.state != "pending"
                    for s in store.steps(deps[0].id)
                )
            )

        wait_until(rolling)
        _blackhole(team.fleet.host("h3"), team.fleet.gateway, on=True)
        out, err = runner.communicate(timeout=120)
        assert runner.returncode != 0, out + err
        said = " ".join((out + err).split())
        # the store stopped answering (a write, or the lease's renewal, found it first)
        assert "changes no target" in said or "stops changing targets" in said, said
        assert "slipway resume" in said
        _blackhole(team.fleet.host("h3"), team.fleet.gateway, on=False)

        def expired() -> bool:  # the cut-off runner's lease ran out (its row stays)
            held = store.lock("shop", "test")
            return held is None or held.expires_at < store.now()

        wait_until(expired, timeout_s=30)
        resumed = team.run("h2", "resume", "-f", team.spec("r2"))
        assert resumed.returncode in (0, 3), resumed.stdout + resumed.stderr
        status = json.loads(team.run("h1", "status", "-f", team.spec("r1"), "-o", "json").stdout)
        assert status["problems"] == [] and status["interrupted"] is None, status
        current = status["current"]["version"]
        assert {served_version(h) for h in team.fleet.hosts[:2]} == {current}
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
        store.close()


def test_a_runner_paused_past_its_lease_writes_nothing_once_another_machine_took_over(
    team: Team,
) -> None:
    """SIGSTOP (a laptop lid, a stalled VM) past the lease on one machine, `slipway resume` on
    another; continued, the first runner finds its token outdated and stops, writing nothing."""
    assert team.run("h1", "deploy", "-f", team.spec("r1"), "-v", "v1").returncode == 0
    store = team.store()
    runner = team.start("h1", "deploy", "-f", team.spec("r1"), "-v", "v2")
    paused: list[int] = []
    try:

        def mid_rollout() -> bool:
            deps = store.deployments("shop", "test", limit=1)
            return (
                bool(deps)
                and deps[0].version == "v2"
                and any(
                    s.kind == "stop_instance" and s.state != "pending"
                    for s in store.steps(deps[0].id)
                )
            )

        wait_until(mid_rollout)
        children = subprocess.run(
            ["pgrep", "-P", str(runner.pid)], capture_output=True, text=True
        ).stdout.split()
        paused = [int(c) for c in children] or [runner.pid]  # nsenter may exec the runner
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        [dep] = store.deployments("shop", "test", limit=1)

        def expired() -> bool:
            held = store.lock("shop", "test")
            return held is not None and held.expires_at < store.now()

        wait_until(expired, timeout_s=30)
        resumed = team.run("h2", "resume", "-f", team.spec("r2"))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        before = (len(store.events(dep.id)), [(s.id, s.state) for s in store.steps(dep.id)])
        for pid in paused:
            os.kill(pid, signal.SIGCONT)
        out, err = runner.communicate(timeout=120)
        assert runner.returncode != 0, out + err
        after = (len(store.events(dep.id)), [(s.id, s.state) for s in store.steps(dep.id)])
        assert after == before  # not one transition, not one event more
        assert store.deployment(dep.id).status == "succeeded"
    finally:
        for pid in paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
        store.close()
    assert {served_version(h) for h in team.fleet.hosts[:2]} == {"v2"}
