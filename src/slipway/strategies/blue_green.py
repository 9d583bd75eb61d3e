"""Blue-green: the whole new set beside the live one, verified, then all traffic at once.

1. Start the new release (green) in the free slot of every instance; wait until
   each is healthy; put it on standby in the router (checked, taking nothing).
2. Verify it while it takes no user traffic: smoke requests to each green
   instance, and an optional analysis with synthetic (probe) requests.
3. Unless ``auto_promote`` is on, wait for ``slipway promote``.
4. Switch all traffic in one router operation: green ready, blue draining.
5. Hold blue, still running and checked, for ``scale_down_delay_s``: a rollback
   meanwhile is a switch back. Then drain and stop blue.

A first release (nothing serving) is simply started everywhere. Pure: data in, steps out.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.strategy import BlueGreenSpec
from slipway.steps import Analyse, Gate, Hold, Layout, Placement, Smoke, Step, StepList
from slipway.strategies.common import live_side, start_beside, take_down
from slipway.strategies.post_promotion import baseline_step, watch_after


def blue_green(
    spec: BlueGreenSpec, *, version: str, layout: Layout, placement: Sequence[Placement]
) -> list[Step]:
    plan = StepList()
    after = spec.post_promotion
    before = live_side(layout, placement) if after is not None else None
    alongside = [baseline_step(after, before)] if after and before else []
    beside = start_beside(plan, version, layout=layout, placement=placement, alongside=alongside)
    if beside is None:  # a first release: nothing to be beside
        return plan.steps
    green, blue, blue_version = beside.new, beside.old, beside.old_version
    plan.group(
        "smoke_test",
        [
            (Smoke(s.name, s.port, i), f"smoke test {i + 1} on {s.name}")
            for i in range(len(spec.smoke))
            for s in green
        ],
    )
    canary_side, baseline = beside.sides(version)
    if spec.analysis is not None:
        plan.one(
            "analysis",
            Analyse(
                canary=canary_side,
                baseline=baseline,
                name="pre-switch",
                spec=spec.analysis.model_dump(mode="json"),
            ),
            f"analysis of {version} on standby against {blue_version}",
        )
    if not spec.auto_promote:
        plan.one(
            "gate",
            Gate(canary=canary_side, baseline=baseline, gate="promote"),
            f"wait for `slipway promote` to switch to {version}",
        )
    beside.promote(plan, version, description=f"switch all traffic to {version}")
    delay = spec.scale_down_delay_s
    if after is not None and before is not None:
        watch_after(
            plan,
            after,
            canary=canary_side,
            baseline=before,
            kept=f"{blue_version} running on standby: a rollback is a switch back",
        )
        delay -= after.duration_s  # the watch kept blue up that long already
    if delay > 0:
        plan.one(
            "hold",
            Hold(delay, blue_version),
            f"keep {blue_version} on standby for {delay:g}s "
            "(a rollback meanwhile is a switch back)",
        )
    take_down(plan, blue)
    return plan.steps
