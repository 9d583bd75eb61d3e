"""The flag strategy is pure: the code goes out dark, then the flag's share grows; its undo
takes back the flag, never the instances."""

from __future__ import annotations

from slipway.spec.analysis import AnalysisSpec
from slipway.spec.strategy import CanaryStep, FlagSpec, PauseSpec
from slipway.steps import Placement, Step
from slipway.strategies import STRATEGIES, UNDOS, flag, flag_undo, rolling
from tests.strategies.test_rolling import all_on, layout, replay


def spec(**extra: object) -> FlagSpec:
    values: dict[str, object] = {
        "type": "flag",
        "flag": "new-checkout",
        "steps": [
            CanaryStep(set_weight=1),
            CanaryStep(pause=PauseSpec(duration_s=30)),
            CanaryStep(set_weight=25),
            CanaryStep(pause=PauseSpec()),
            CanaryStep(analysis=AnalysisSpec(count=2)),
        ],
        **extra,
    }
    return FlagSpec.model_validate(values)


def weights(steps: list[Step]) -> list[int]:
    return [s.params.weight for s in steps if s.kind == "set_flag"]


def test_the_code_ships_dark_then_the_flag_grows_to_everyone() -> None:
    placement = all_on("v1", 3)
    steps = flag(spec(), version="v2", layout=layout(3), placement=placement)
    kinds = [s.kind for s in steps]
    # the flag is at 0 % before the first instance of v2 starts, and the rollout is the
    # rolling strategy's own plan, unchanged
    assert kinds[0] == "set_flag" and steps[0].params.weight == 0
    code = rolling(spec().rollout, version="v2", layout=layout(3), placement=placement)
    rollout = steps[1 : 1 + len(code)]
    assert [(s.kind, s.params) for s in rollout] == [(s.kind, s.params) for s in code]
    assert rollout[-1].kind == "mark_current"
    # then the weights, in order, ending on for everyone
    assert weights(steps) == [0, 1, 25, 100]
    after = kinds[1 + len(code) :]
    assert "start_instance" not in after and "switch_traffic" not in after
    set_and_verify = ["set_flag", "verify_flag"]
    assert after == [*set_and_verify, "pause", *set_and_verify, "gate", "analysis", *set_and_verify]
    verifies = [s.params for s in steps if s.kind == "verify_flag"]
    assert [(v.weight, v.previous, v.keys) for v in verifies] == [
        (1, 0, 1000),
        (25, 1, 1000),
        (100, 25, 1000),
    ]
    serving, _, low = replay(steps, placement)
    assert set(serving.values()) == {"v2"} and low >= 3  # the rollout kept every user served


def test_waits_compare_flag_on_against_flag_off_on_the_same_instances() -> None:
    steps = flag(spec(), version="v2", layout=layout(3), placement=all_on("v1", 3))
    waits = [s for s in steps if s.kind in ("pause", "gate", "analysis")]
    assert [s.params.weight for s in waits] == [1, 25, 25]
    new_slots = ["web-1_b", "web-2_b", "web-3_b"]  # beside v1, where the rollout puts v2
    for step in waits:
        on, off = step.params.canary, step.params.baseline
        assert (on.version, on.flag, on.variant) == ("v2", "new-checkout", "on")
        assert (off.version, off.flag, off.variant) == ("v2", "new-checkout", "off")
        assert on.slots == off.slots == new_slots
    assert waits[0].params.watch is not None  # the background analysis watches the pauses
    assert waits[2].params.spec["count"] == 2


def test_a_release_already_live_only_moves_the_flag() -> None:
    steps = flag(spec(), version="v2", layout=layout(2), placement=all_on("v2", 2))
    kinds = [s.kind for s in steps]
    assert "start_instance" not in kinds and "stop_instance" not in kinds
    assert kinds.count("mark_current") == 1
    waits = [s for s in steps if s.kind == "pause"]
    assert waits[0].params.canary.slots == ["web-1_a", "web-2_a"]


def test_a_first_release_lands_in_the_first_slots() -> None:
    steps = flag(spec(), version="v1", layout=layout(2), placement=[])
    assert {s.params.slot for s in steps if s.kind == "start_instance"} == {"web-1_a", "web-2_a"}
    assert weights(steps)[0] == 0 and weights(steps)[-1] == 100


def test_a_last_step_at_100_is_not_repeated() -> None:
    steps = flag(
        spec(steps=[CanaryStep(set_weight=100)]),
        version="v2",
        layout=layout(1),
        placement=all_on("v1", 1),
    )
    assert weights(steps) == [0, 100]


def test_groups_stay_in_order_after_the_rollout_is_spliced_in() -> None:
    steps = flag(spec(), version="v2", layout=layout(3), placement=all_on("v1", 3))
    groups = [s.group for s in steps]
    assert groups == sorted(groups)
    assert len({s.group for s in steps if s.kind == "set_flag"}) == 4


def test_undo_is_the_flag_at_zero_once_the_code_is_live_and_nothing_before() -> None:
    live = [("set_flag", "succeeded"), ("mark_current", "succeeded"), ("set_flag", "failed")]
    undo = flag_undo(spec(), version="v2", done=live)
    assert undo is not None
    assert [(s.kind, s.params.flag, s.params.weight) for s in undo] == [
        ("set_flag", "new-checkout", 0)
    ]
    # the rollout failed before the code was live: the instances are rolled back instead
    failed_rollout = [("set_flag", "succeeded"), ("health_check", "failed")]
    assert flag_undo(spec(), version="v2", done=failed_rollout) is None
    assert flag_undo(spec(), version="v2", done=[("mark_current", "pending")]) is None


def test_registered() -> None:
    assert STRATEGIES["flag"] is flag
    assert set(UNDOS) <= set(STRATEGIES)


def test_placement_of_an_interrupted_rollout_is_finished_first() -> None:
    # v2 already serves on web-1 (b), web-2 still on v1: the rollout replaces only web-2
    placement = [
        Placement("web-1_b", "v2", True, True),
        Placement("web-2_a", "v1", True, True),
    ]
    steps = flag(spec(), version="v2", layout=layout(2), placement=placement)
    assert {s.params.slot for s in steps if s.kind == "start_instance"} == {"web-2_b"}
    assert steps[-2].kind == "set_flag" and steps[-1].kind == "verify_flag"
    pause = next(s for s in steps if s.kind == "pause")
    assert pause.params.canary.slots == ["web-1_b", "web-2_b"]
