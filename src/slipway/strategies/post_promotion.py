"""Watching after promotion (Argo's ``postPromotionAnalysis``): the steps a strategy emits.

A release can pass its canary and still fail at full traffic (a leak, a cache that fills,
the one customer who was not in the 10 %). So with ``post_promotion:`` a strategy emits two
more steps:

- ``record_baseline``, before anything moves: the release serving now is measured for
  ``baseline_s`` and the measurement recorded — what the watch compares with, since once
  the new release takes everything there is no live baseline left to measure;
- ``post_promotion``, once all traffic is on the new release: the watch's analysis against
  that recorded baseline (PromQL: the same query, asked at the time the baseline was
  recorded) for ``duration_s``, the previous release kept ready meanwhile (its release on
  disk; still running, for blue-green). A failure rolls back like any other; the deployment
  ends when the watch does.

Pure: data in, steps out.
"""

from __future__ import annotations

from slipway.spec.strategy import PostPromotionSpec
from slipway.steps import Compared, PostPromotion, RecordBaseline, StepList
from slipway.strategies.common import FULL_WEIGHT, Alongside


def baseline_step(watch: PostPromotionSpec, baseline: Compared) -> Alongside:
    """The step that measures ``baseline`` (the release serving now) before anything moves."""
    return (
        "record_baseline",
        RecordBaseline(
            baseline=baseline,
            watch=watch.analysis.model_dump(mode="json"),
            duration_s=watch.baseline_s,
        ),
        f"measure {baseline.version} for {watch.baseline_s:g}s: the baseline of the watch "
        "after promotion",
    )


def record_baseline(plan: StepList, watch: PostPromotionSpec, baseline: Compared) -> None:
    """The baseline's measurement as a step of its own (where nothing else could run beside)."""
    kind, params, description = baseline_step(watch, baseline)
    plan.one(kind, params, description)


def watch_after(
    plan: StepList,
    watch: PostPromotionSpec,
    *,
    canary: Compared,
    baseline: Compared,
    kept: str,
) -> None:
    """The watch of ``canary`` (all traffic on it) against ``baseline``'s recorded measure;
    ``kept``: what stays ready meanwhile, for the description."""
    plan.one(
        "post_promotion",
        PostPromotion(
            canary=canary,
            baseline=baseline,
            weight=FULL_WEIGHT,
            watch=watch.analysis.model_dump(mode="json"),
            duration_s=watch.duration_s,
        ),
        f"watch {canary.version} for {watch.duration_s:g}s against what {baseline.version} "
        f"measured before the deploy ({kept}; a failure rolls back)",
    )
