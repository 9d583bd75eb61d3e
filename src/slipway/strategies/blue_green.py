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
from slipway.strategies.common import start_beside, take_down


def blue_green(
    spec: BlueGreenSpec, *, version: str, layout: Layout, placement: Sequence[Placement]
) -> list[Step]:
    plan = StepList()
    beside = start_beside(plan, version, layout=layout, placement=placement)
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
    if spec.scale_down_delay_s > 0:
        plan.one(
            "hold",
            Hold(spec.scale_down_delay_s, blue_version),
            f"keep {blue_version} on standby for {spec.scale_down_delay_s:g}s "
            "(a rollback meanwhile is a switch back)",
        )
    take_down(plan, blue)
    return plan.steps
