"""Rolling is pure: layout and placement in, steps out. Replay the steps and check the bounds."""

from __future__ import annotations

import pytest

from slipway.spec.strategy import RollingSpec
from slipway.steps import Layout, Placement, Step
from slipway.strategies import back_to, rolling


def layout(count: int) -> Layout:
    names = [f"web-{i + 1}" for i in range(count)]
    slots = [(n, f"{n}_a", 9000 + i) for i, n in enumerate(names)]
    slots += [(n, f"{n}_b", 9000 + count + i) for i, n in enumerate(names)]
    return Layout.from_slots(slots)


def all_on(version: str, count: int) -> list[Placement]:
    return [Placement(f"web-{i + 1}_a", version, True, True) for i in range(count)]


def replay(steps: list[Step], placement: list[Placement]) -> tuple[dict[str, str], int, int]:
    """Simulate the steps group by group; return serving slots, peak processes, min serving."""
    running = {p.slot: p.version for p in placement if p.running}
    serving = {p.slot for p in placement if p.serving}
    peak, low = len(running), len(serving)
    for step in steps:
        slot = step.params.as_dict().get("slot")
        if step.kind == "start_instance":
            running[slot] = step.params.version
        elif step.kind == "enable_instance":
            serving.add(slot)
        elif step.kind == "switch_traffic":
            serving |= set(step.params.ready)
            serving -= set(step.params.drain)
        elif step.kind == "drain_instance":
            serving.discard(slot)
        elif step.kind == "stop_instance":
            running.pop(slot, None)
            serving.discard(slot)
        peak = max(peak, len(running))
        low = min(low, len(serving))
    return {s: running[s] for s in serving}, peak, low


@pytest.mark.parametrize(
    ("count", "batch", "surge", "unavailable", "peak", "low"),
    [
        (3, 1, 1, 0, 4, 3),
        (3, 3, 3, 0, 6, 3),
        (4, 2, 1, 1, 5, 3),
        (4, 2, 0, 2, 4, 2),
        (5, "40%", "20%", "20%", 6, 4),
        (3, 1, "10%", "10%", 4, 3),  # 10 % of 3: surge rounds up to 1, unavailable down to 0
        (2, 1, 0, "10%", 2, 1),  # both round to 0: one may be unavailable, as in Kubernetes
    ],
)
def test_rolling_respects_surge_and_unavailable(
    count: int, batch: int | str, surge: int | str, unavailable: int | str, peak: int, low: int
) -> None:
    spec = RollingSpec(batch_size=batch, max_surge=surge, max_unavailable=unavailable)
    steps = rolling(spec, version="v2", layout=layout(count), placement=all_on("v1", count))
    serving, seen_peak, seen_low = replay(steps, all_on("v1", count))
    assert set(serving.values()) == {"v2"} and len(serving) == count
    assert seen_peak == peak
    assert seen_low == low
    assert steps[-1].kind == "mark_current"


def test_new_instance_is_healthy_before_it_gets_traffic() -> None:
    steps = rolling(RollingSpec(), version="v2", layout=layout(3), placement=all_on("v1", 3))
    kinds = [(s.kind, s.params.as_dict().get("slot")) for s in steps]
    for slot in ("web-1_b", "web-2_b", "web-3_b"):
        start = kinds.index(("start_instance", slot))
        assert kinds.index(("health_check", slot)) > start
        assert kinds.index(("enable_instance", slot)) > kinds.index(("health_check", slot))


def test_first_deploy_and_same_version_redeploy() -> None:
    first = rolling(RollingSpec(), version="v1", layout=layout(3), placement=[])
    assert [s.params.slot for s in first if s.kind == "start_instance"] == [
        "web-1_a",
        "web-2_a",
        "web-3_a",
    ]
    again = rolling(RollingSpec(), version="v1", layout=layout(3), placement=all_on("v1", 3))
    assert [s.kind for s in again] == ["mark_current"]


def test_leftover_idle_instances_are_stopped_first() -> None:
    placement = [*all_on("v1", 2), Placement("web-1_b", "v9", True, False)]
    steps = rolling(RollingSpec(), version="v2", layout=layout(2), placement=placement)
    assert (steps[0].kind, steps[0].params.slot) == ("stop_instance", "web-1_b")


def test_parallel_groups_share_a_number() -> None:
    spec = RollingSpec(batch_size=3, max_surge=3)
    steps = rolling(spec, version="v2", layout=layout(3), placement=all_on("v1", 3))
    starts = {s.group for s in steps if s.kind == "start_instance"}
    assert len(starts) == 1


def test_rollback_puts_traffic_back_before_stopping() -> None:
    # interrupted rolling update: web-1 moved to v2, web-2 not yet, web-3 half-way
    placement = [
        Placement("web-1_b", "v2", True, True),
        Placement("web-2_a", "v1", True, True),
        Placement("web-3_a", "v1", True, True),
        Placement("web-3_b", "v2", True, False),
    ]
    steps = back_to("v1", layout=layout(3), placement=placement)
    serving, _, low = replay(steps, placement)
    assert serving == {"web-1_a": "v1", "web-2_a": "v1", "web-3_a": "v1"}
    assert low == 3  # capacity never drops while going back
    kinds = [s.kind for s in steps]
    assert kinds.index("switch_traffic") < kinds.index("drain_instance")


def test_rollback_of_a_first_release_stops_everything() -> None:
    placement = [Placement("web-1_a", "v1", True, False)]
    steps = back_to(None, layout=layout(2), placement=placement)
    assert [(s.kind, s.params.as_dict().get("slot")) for s in steps] == [
        ("drain_instance", "web-1_a"),
        ("stop_instance", "web-1_a"),
    ]
