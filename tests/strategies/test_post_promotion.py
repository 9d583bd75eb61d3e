"""Watching after promotion, as data: each strategy that promotes records the pre-deploy
baseline before anything moves and watches after all traffic is on the new release, the
previous release kept ready meanwhile."""

from __future__ import annotations

from slipway.spec.strategy import (
    BlueGreenSpec,
    CanarySpec,
    CanaryStep,
    FlagSpec,
    PostPromotionSpec,
)
from slipway.steps import PostPromotion, RecordBaseline, Step, params_of
from slipway.strategies import blue_green, canary, flag
from tests.strategies.test_rolling import all_on, layout

WATCH = PostPromotionSpec(duration_s=600, baseline_s=20)
STEPS = [CanaryStep(set_weight=10), CanaryStep(set_weight=50)]


def kinds(steps: list[Step]) -> list[str]:
    return [s.kind for s in steps]


def only(steps: list[Step], kind: str) -> Step:
    found = [s for s in steps if s.kind == kind]
    assert len(found) == 1, kinds(steps)
    return found[0]


def test_canary_records_the_baseline_while_its_set_gets_healthy_and_watches_last() -> None:
    spec = CanarySpec(type="canary", steps=STEPS, post_promotion=WATCH)
    steps = canary(spec, version="v2", layout=layout(3), placement=all_on("v1", 3))
    k = kinds(steps)
    baseline = only(steps, "record_baseline")
    # in the health checks' group: measured while nothing has moved yet, at no extra wait
    health = [s for s in steps if s.kind == "health_check"]
    assert {s.group for s in health} == {baseline.group}
    assert k.index("record_baseline") < k.index("switch_traffic")
    assert isinstance(baseline.params, RecordBaseline)
    assert baseline.params.baseline is not None
    assert baseline.params.baseline.version == "v1"
    assert baseline.params.baseline.slots == ["web-1_a", "web-2_a", "web-3_a"]
    assert baseline.params.duration_s == 20
    # the watch comes after the stable set is stopped (stopped, its release kept), and last
    watch = only(steps, "post_promotion")
    assert k[-1] == "post_promotion"
    assert k.index("mark_current") < k.index("post_promotion")
    assert max(i for i, x in enumerate(k) if x == "stop_instance") < k.index("post_promotion")
    assert isinstance(watch.params, PostPromotion)
    assert watch.params.duration_s == 600 and watch.params.weight == 100
    assert watch.params.canary is not None and watch.params.canary.version == "v2"
    assert watch.params.canary.slots == ["web-1_b", "web-2_b", "web-3_b"]
    assert watch.params.watch == WATCH.analysis.model_dump(mode="json")
    # stored and read back as its kind's parameters (what `slipway resume` does)
    assert params_of("post_promotion", watch.params.as_dict()) == watch.params


def test_blue_green_keeps_blue_running_through_the_watch_then_holds_what_is_left() -> None:
    spec = BlueGreenSpec(type="blue-green", scale_down_delay_s=900, post_promotion=WATCH)
    steps = blue_green(spec, version="v2", layout=layout(2), placement=all_on("v1", 2))
    k = kinds(steps)
    assert k.index("switch_traffic") < k.index("post_promotion") < k.index("hold")
    assert k.index("hold") < k.index("drain_instance")  # blue is stopped only afterwards
    assert only(steps, "hold").params.duration_s == 300  # 900 s of delay, 600 of them watched
    short = BlueGreenSpec(type="blue-green", scale_down_delay_s=30, post_promotion=WATCH)
    steps = blue_green(short, version="v2", layout=layout(2), placement=all_on("v1", 2))
    assert "hold" not in kinds(steps)
    assert kinds(steps).index("post_promotion") < kinds(steps).index("drain_instance")


def test_flag_records_the_baseline_before_its_rollout_and_watches_the_flag_on() -> None:
    spec = FlagSpec(type="flag", flag="new-checkout", steps=STEPS, post_promotion=WATCH)
    steps = flag(spec, version="v2", layout=layout(2), placement=all_on("v1", 2))
    k = kinds(steps)
    assert k[:2] == ["set_flag", "record_baseline"]  # before the first instance of v2
    assert k[-1] == "post_promotion"
    last_set = max(i for i, x in enumerate(k) if x == "set_flag")
    assert steps[last_set].params.weight == 100 and last_set < k.index("post_promotion")
    watch = only(steps, "post_promotion").params
    assert isinstance(watch, PostPromotion) and watch.canary is not None
    assert (watch.canary.flag, watch.canary.variant) == ("new-checkout", "on")
    assert watch.baseline is not None and watch.baseline.version == "v1"
    assert watch.baseline.variant is None  # the previous release, all its requests


def test_no_watch_without_post_promotion_nor_on_a_first_release() -> None:
    plain = CanarySpec(type="canary", steps=STEPS)
    steps = canary(plain, version="v2", layout=layout(2), placement=all_on("v1", 2))
    assert not {"record_baseline", "post_promotion"} & set(kinds(steps))
    spec = CanarySpec(type="canary", steps=STEPS, post_promotion=WATCH)
    first = canary(spec, version="v1", layout=layout(2), placement=[])
    assert not {"record_baseline", "post_promotion"} & set(kinds(first))


def test_the_default_watch_is_the_seeds_triggers() -> None:
    rules = {m.name: (m.fail_if, m.for_s) for m in PostPromotionSpec().analysis.metrics}
    assert rules == {"error_rate": ("> 0.05", 300), "p95_latency_ms": ("> 2 * baseline", 600)}
    assert PostPromotionSpec().duration_s == 1800
