"""A scaled canary (Argo's setCanaryScale): the new release on some instances only, the share
of traffic from per-slot weights, the rest started at promotion."""

from __future__ import annotations

import pytest

from slipway.spec.strategy import CanaryScale, CanarySpec, CanaryStep, PauseSpec
from slipway.strategies import canary
from slipway.strategies.canary import MAX_WEIGHT, fewest_canaries, slot_weights
from tests.strategies.test_progressive import kinds, traffic
from tests.strategies.test_rolling import all_on, layout


@pytest.mark.parametrize("weight", [1, 5, 10, 25, 50, 75, 90, 99])
@pytest.mark.parametrize(("canaries", "stable"), [(1, 100), (10, 100), (3, 10), (50, 100)])
def test_slot_weights_give_the_canaries_their_share(
    weight: int, canaries: int, stable: int
) -> None:
    canaries = max(canaries, fewest_canaries(weight, stable=stable))
    c, s = slot_weights(weight, canaries=canaries, stable=stable)
    assert 1 <= c <= MAX_WEIGHT and 1 <= s <= MAX_WEIGHT
    share = 100 * canaries * c / (canaries * c + stable * s)
    assert share == pytest.approx(weight, abs=max(0.5, weight * 0.05)), (c, s, share)


def test_one_canary_cannot_take_most_of_a_hundred_instances_traffic() -> None:
    assert fewest_canaries(50, stable=100) == 1  # 256:1 gives 72 % at most
    assert fewest_canaries(90, stable=100) == 4
    spec = scaled(CanaryScale(replicas=1), 90)
    steps = canary(spec, version="v2", layout=layout(100), placement=all_on("v1", 100))
    assert started_before_each_switch(steps)[0] == 4  # raised, so the 90 % is real


def test_one_canary_beside_each_instance_keeps_the_plain_weights() -> None:
    assert slot_weights(10, canaries=3, stable=3) == (10, 90)
    assert slot_weights(0, canaries=3, stable=3) == (0, 100)
    assert slot_weights(100, canaries=3, stable=3) == (100, 0)


def scaled(scale: CanaryScale, *weights: int) -> CanarySpec:
    steps = []
    for w in weights:
        steps += [CanaryStep(set_weight=w), CanaryStep(pause=PauseSpec(duration_s=1))]
    return CanarySpec(type="canary", steps=steps, scale=scale, analysis=None)


def started_before_each_switch(steps: list) -> list[int]:  # type: ignore[type-arg]
    started, counts = 0, []
    for step in steps:
        if step.kind == "start_instance":
            started += 1
        elif step.kind == "switch_traffic":
            counts.append(started)
    return counts


def test_a_fixed_scale_starts_that_many_canaries_then_the_rest_at_promotion() -> None:
    spec = scaled(CanaryScale(replicas=2), 10, 50)
    steps = canary(spec, version="v2", layout=layout(10), placement=all_on("v1", 10))
    # 2 canaries for both weights, then all 10 before the promoting switch
    assert started_before_each_switch(steps) == [2, 2, 10]
    shares = []
    for weights in traffic(steps, all_on("v1", 10))[:2]:
        new = sum(w for slot, w in weights.items() if slot.endswith("_b"))
        shares.append(round(100 * new / sum(weights.values())))
    assert shares == [10, 50]
    assert kinds(steps)[-1] == "stop_instance"  # the old set goes after promotion


def test_matching_the_weight_grows_the_canary_as_the_weight_grows() -> None:
    spec = scaled(CanaryScale(match_traffic_weight=True), 10, 30, 60)
    steps = canary(spec, version="v2", layout=layout(10), placement=all_on("v1", 10))
    assert started_before_each_switch(steps) == [1, 3, 6, 10]
    analysed = [s for s in steps if s.kind == "pause"]
    assert [len(p.params.canary.slots) for p in analysed] == [1, 3, 6]  # compares what runs
    assert all(len(p.params.baseline.slots) == 10 for p in analysed)


def test_a_scale_is_exactly_one_of_its_fields() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        CanaryScale(replicas=2, percent=10)
    assert CanaryScale(percent=10).count(100, 50) == 10
    assert CanaryScale(replicas=500).count(100, 1) == 100
