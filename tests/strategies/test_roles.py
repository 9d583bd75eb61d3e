"""Roles without traffic are pure too: spec and live processes in, steps out. The steps are
replayed to check the rules — a singleton never twice, workers never fewer than ``count`` —
and the plan puts them after web whatever the strategy, in deploys and rollbacks alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.plan import build_plan, rollback_plan
from slipway.spec import load_spec
from slipway.spec.roles import RoleSpec
from slipway.steps import Placement, ProcessPlacement, Step
from slipway.strategies.roles import roles_steps
from tests.support.sample import write_sample_spec

WORKER = RoleSpec(command=["w"], count=3)
BEAT = RoleSpec(command=["b"], singleton=True)
ROLES = {"worker": WORKER, "beat": BEAT}


def slots(roles: dict[str, RoleSpec]) -> dict[str, list[tuple[str, str, str | None]]]:
    return {
        role: [(f"{role}-{i}_a", f"{role}-{i}_b", None) for i in range(1, spec.count + 1)]
        for role, spec in roles.items()
    }


def steps_for(
    roles: dict[str, RoleSpec], version: str | None, processes: list[ProcessPlacement]
) -> list[Step]:
    return roles_steps(roles, slots=slots(roles), version=version, processes=processes)


def on(version: str, role: str, count: int, side: str = "a") -> list[ProcessPlacement]:
    return [
        ProcessPlacement(f"{role}-{i}_{side}", role, version, True) for i in range(1, count + 1)
    ]


def replay(
    steps: list[Step], processes: list[ProcessPlacement]
) -> tuple[dict[str, str], dict[str, tuple[int, int]]]:
    """Running processes after the steps, and per role the (fewest, most) running at once
    between groups (a group's steps may run in any order: count its starts after its stops)."""
    running = {p.name: (p.role, p.version) for p in processes if p.running}
    bounds: dict[str, tuple[int, int]] = {}

    def look() -> None:
        for role in {r for r, _ in running.values()} | set(ROLES):
            n = sum(1 for r, _ in running.values() if r == role)
            low, high = bounds.get(role, (n, n))
            bounds[role] = (min(low, n), max(high, n))

    look()
    for step in steps:
        params = step.params.as_dict()
        if step.kind == "start_process":
            running[params["name"]] = (params["role"], params["version"])
        elif step.kind == "stop_process":
            running.pop(params["name"], None)
        look()
    return {name: version for name, (_, version) in running.items()}, bounds


def test_first_release_starts_every_process() -> None:
    steps = steps_for(ROLES, "v1", [])
    after, _ = replay(steps, [])
    assert after == {"worker-1_a": "v1", "worker-2_a": "v1", "worker-3_a": "v1", "beat-1_a": "v1"}
    # no checks given: one group of starts per role
    assert [(s.kind, s.group) for s in steps] == [("start_process", 1)] * 3 + [("start_process", 2)]


def test_workers_start_beside_then_old_ones_stop_warmly() -> None:
    roles = {"worker": RoleSpec(command=["w"], count=3, check={"command": ["c", "{name}"]})}
    steps = steps_for(roles, "v2", on("v1", "worker", 3))
    kinds = [s.kind for s in steps]
    assert kinds == ["start_process"] * 3 + ["check_process"] * 3 + ["stop_process"] * 3
    assert len({s.group for s in steps}) == 3  # each kind in one parallel group
    after, bounds = replay(steps, on("v1", "worker", 3))
    assert after == {"worker-1_b": "v2", "worker-2_b": "v2", "worker-3_b": "v2"}
    assert bounds["worker"] == (3, 6)  # never fewer than count


def test_a_singleton_is_stopped_before_its_successor_starts() -> None:
    processes = on("v1", "beat", 1)
    steps = steps_for({"beat": BEAT}, "v2", processes)
    assert [(s.kind, s.params.as_dict()["name"]) for s in steps] == [
        ("stop_process", "beat-1_a"),
        ("start_process", "beat-1_b"),
    ]
    after, bounds = replay(steps, processes)
    assert after == {"beat-1_b": "v2"} and bounds["beat"] == (0, 1)


def test_kept_restarted_shrunk_and_removed() -> None:
    processes = [
        *on("v2", "worker", 2),  # worker-1_a, worker-2_a already on v2: kept
        ProcessPlacement("worker-3_b", "worker", "v2", False),  # crashed: restarted in place
        ProcessPlacement("worker-3_a", "worker", "v1", True),  # the old one beside it
        ProcessPlacement("worker-4_a", "worker", "v1", True),  # beyond count: stopped
        ProcessPlacement("mailer-1_a", "mailer", "v1", True),  # a role no longer in the spec
    ]
    steps = steps_for({"worker": WORKER}, "v2", processes)
    after, _ = replay(steps, processes)
    assert after == {"worker-1_a": "v2", "worker-2_a": "v2", "worker-3_b": "v2"}
    assert [s.params.as_dict()["name"] for s in steps if s.kind == "start_process"] == [
        "worker-3_b"
    ]


def test_nothing_to_do_when_every_process_runs_the_version() -> None:
    processes = on("v2", "worker", 3) + on("v2", "beat", 1, side="b")
    assert steps_for(ROLES, "v2", processes) == []


def test_none_stops_everything() -> None:
    processes = on("v1", "worker", 3) + on("v1", "beat", 1)
    after, _ = replay(steps_for(ROLES, None, processes), processes)
    assert after == {}


ROLES_YAML = """
roles:
  worker: {command: [python, worker.py, "{name}"], count: 2, check: {command: [c, "{name}"]}}
  beat: {command: [python, worker.py, "{name}", --beat], singleton: true}
"""


@pytest.mark.parametrize(
    "strategy",
    [
        "{type: rolling}",
        "{type: blue-green, scale_down_delay_s: 30}",
        "{type: canary, steps: [{set_weight: 50}, {pause: {duration_s: 5}}]}",
    ],
)
def test_every_strategy_runs_the_roles_once_web_serves(tmp_path: Path, strategy: str) -> None:
    env = load_spec(
        write_sample_spec(tmp_path, count=2, strategy=strategy, extra=ROLES_YAML)
    ).environment("test")
    web = [Placement(f"web-{i}_a", "v1", True, True) for i in (1, 2)]
    processes = on("v1", "worker", 2) + on("v1", "beat", 1)
    steps = build_plan(env, version="v2", placement=web, processes=processes)
    kinds = [s.kind for s in steps]
    first_role = kinds.index("start_process")
    # every web instance of v2 is started, checked and taking traffic before any role moves
    web_up = max(i for i, k in enumerate(kinds) if k in ("enable_instance", "switch_traffic"))
    assert kinds.index("stop_process") < first_role or web_up < first_role
    assert web_up < first_role and kinds.index("mark_current") > first_role
    assert max(i for i, k in enumerate(kinds) if "process" in k) < kinds.index("mark_current")
    groups = [s.group for s in steps]
    assert groups == sorted(groups)  # parts chained in order, groups kept apart

    # a rollback puts web back first (traffic first), then the roles
    moved = [
        Placement("web-1_b", "v2", True, True),
        Placement("web-2_b", "v2", True, True),
        *web,
    ]
    back = rollback_plan(
        env,
        version="v1",
        placement=moved,
        prepare=False,
        processes=on("v2", "worker", 2, side="b") + on("v2", "beat", 1, side="b"),
    )
    kinds = [s.kind for s in back]
    assert kinds.index("switch_traffic") < min(i for i, k in enumerate(kinds) if "process" in k)
    after, bounds = replay(back, on("v2", "worker", 2, side="b") + on("v2", "beat", 1, side="b"))
    assert after == {"worker-1_a": "v1", "worker-2_a": "v1", "beat-1_a": "v1"}
    assert bounds["beat"][1] == 1


def test_a_spec_refuses_a_role_named_web_and_a_singleton_of_two(tmp_path: Path) -> None:
    from slipway.errors import SpecError

    for roles, message in (
        ("roles: {web: {command: [x]}}", "`web` is the role"),
        ("roles: {beat: {command: [x], singleton: true, count: 2}}", "count: 1"),
        ("roles: {Worker: {command: [x]}}", "role name 'Worker'"),
    ):
        path = write_sample_spec(tmp_path, extra=roles + "\n")
        with pytest.raises(SpecError, match=message):
            load_spec(path)
