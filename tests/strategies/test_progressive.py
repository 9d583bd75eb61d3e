"""Blue-green and canary are pure: layout and placement in, steps out."""

from __future__ import annotations

from slipway.spec.analysis import AnalysisSpec
from slipway.spec.strategy import BlueGreenSpec, CanarySpec, CanaryStep, PauseSpec, SmokeSpec
from slipway.steps import Placement, Step
from slipway.strategies import back_to, blue_green, canary
from tests.strategies.test_rolling import all_on, layout


def kinds(steps: list[Step]) -> list[str]:
    return [s.kind for s in steps]


def traffic(steps: list[Step], placement: list[Placement]) -> list[dict[str, int]]:
    """The weights of the slots taking traffic after each switch."""
    weights = {p.slot: 100 for p in placement if p.serving}
    history = []
    for step in steps:
        if step.kind == "switch_traffic":
            weights.update(step.params.ready)
            for slot in step.params.drain:
                weights.pop(slot, None)
            history.append(dict(weights))
        elif step.kind in ("drain_instance", "stop_instance"):
            weights.pop(step.params.slot, None)
    return history


def test_blue_green_verifies_green_then_switches_everything_at_once() -> None:
    spec = BlueGreenSpec(type="blue-green", smoke=[SmokeSpec(path="/")], scale_down_delay_s=30)
    placement = all_on("v1", 3)
    steps = blue_green(spec, version="v2", layout=layout(3), placement=placement)
    k = kinds(steps)
    green = {"web-1_b", "web-2_b", "web-3_b"}
    assert {s.params.slot for s in steps if s.kind == "start_instance"} == green
    # checked, on standby and smoke-tested before any user request reaches it
    switch_at = k.index("switch_traffic")
    assert k.count("switch_traffic") == 1
    for kind in ("health_check", "standby_instance", "smoke_test"):
        assert max(i for i, x in enumerate(k) if x == kind) < switch_at
    switch = steps[switch_at]
    assert switch.params.ready == {slot: 100 for slot in green}
    assert set(switch.params.drain) == {"web-1_a", "web-2_a", "web-3_a"}
    # blue is held after the switch, then drained and stopped
    assert k.index("mark_current") < k.index("hold") < k.index("drain_instance")
    assert {s.params.slot for s in steps if s.kind == "stop_instance"} == {
        "web-1_a",
        "web-2_a",
        "web-3_a",
    }
    assert traffic(steps, placement)[-1] == {slot: 100 for slot in green}


def test_blue_green_waits_for_promote_and_runs_its_analysis() -> None:
    spec = BlueGreenSpec(
        type="blue-green",
        auto_promote=False,
        analysis=AnalysisSpec(
            metrics=[{"name": "error_rate", "provider": "probe", "fail_if": "> 0"}]
        ),
        scale_down_delay_s=0,
    )
    steps = blue_green(spec, version="v2", layout=layout(2), placement=all_on("v1", 2))
    k = kinds(steps)
    assert k.index("analysis") < k.index("gate") < k.index("switch_traffic")
    assert "hold" not in k
    analysis = steps[k.index("analysis")].params.as_dict()
    by_slots = {"flag": None, "variant": None}  # sides told apart by slots, not by a flag
    assert analysis["canary"] == {"version": "v2", "slots": ["web-1_b", "web-2_b"], **by_slots}
    assert analysis["baseline"] == {"version": "v1", "slots": ["web-1_a", "web-2_a"], **by_slots}


def test_first_release_is_simply_started() -> None:
    for steps in (
        blue_green(BlueGreenSpec(type="blue-green"), version="v1", layout=layout(2), placement=[]),
        canary(CanarySpec(type="canary"), version="v1", layout=layout(2), placement=[]),
    ):
        assert kinds(steps) == [
            "start_instance",
            "start_instance",
            "health_check",
            "health_check",
            "enable_instance",
            "enable_instance",
            "mark_current",
        ]


def test_canary_weights_are_exact_shares_of_traffic() -> None:
    spec = CanarySpec(
        type="canary",
        steps=[
            CanaryStep(set_weight=10),
            CanaryStep(pause=PauseSpec(duration_s=30)),
            CanaryStep(set_weight=50),
            CanaryStep(pause=PauseSpec()),
        ],
    )
    placement = all_on("v1", 3)
    steps = canary(spec, version="v2", layout=layout(3), placement=placement)
    shares = []
    for weights in traffic(steps, placement):
        canary_weight = sum(w for slot, w in weights.items() if slot.endswith("_b"))
        shares.append(round(100 * canary_weight / sum(weights.values())))
    assert shares == [10, 50, 100]
    k = kinds(steps)
    assert k.index("standby_instance") < k.index("switch_traffic")
    pause, gate = steps[k.index("pause")], steps[k.index("gate")]
    assert pause.params.duration_s == 30 and pause.params.weight == 10
    assert pause.params.watch is not None  # the background analysis watches every pause
    assert gate.params.gate == "promote" and gate.params.weight == 50
    # the stable set goes only after all traffic is on the canary
    assert k.index("mark_current") < k.index("drain_instance")


def test_canary_analysis_step_carries_its_sides() -> None:
    spec = CanarySpec(
        type="canary",
        steps=[CanaryStep(set_weight=25), CanaryStep(analysis=AnalysisSpec(count=2))],
        analysis=None,
    )
    steps = canary(spec, version="v2", layout=layout(2), placement=all_on("v1", 2))
    step = next(s for s in steps if s.kind == "analysis")
    assert step.params.weight == 25
    assert step.params.spec["count"] == 2
    assert step.params.canary.slots == ["web-1_b", "web-2_b"]


def test_rollback_from_a_canary_switches_back_without_restarting_the_stable_set() -> None:
    placement = [
        Placement("web-1_a", "v1", True, True),
        Placement("web-2_a", "v1", True, True),
        Placement("web-1_b", "v2", True, True),
        Placement("web-2_b", "v2", True, True),
    ]
    steps = back_to("v1", layout=layout(2), placement=placement)
    assert "start_instance" not in kinds(steps)
    switch = next(s for s in steps if s.kind == "switch_traffic")
    assert switch.params.ready == {"web-1_a": 100, "web-2_a": 100}  # weights restored
    assert set(switch.params.drain) == {"web-1_b", "web-2_b"}


def test_rollback_during_a_blue_green_hold_is_a_switch_after_one_probe() -> None:
    placement = [
        Placement("web-1_a", "v1", True, False),  # blue, on standby
        Placement("web-2_a", "v1", True, False),
        Placement("web-1_b", "v2", True, True),
        Placement("web-2_b", "v2", True, True),
    ]
    steps = back_to("v1", layout=layout(2), placement=placement)
    assert kinds(steps)[:3] == ["health_check", "health_check", "switch_traffic"]
    assert all(s.params.quick for s in steps if s.kind == "health_check")
    assert traffic(steps, placement)[0] == {"web-1_a": 100, "web-2_a": 100}
