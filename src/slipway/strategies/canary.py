"""Canary: a share of the traffic to the new release, step by step, under analysis.

The new release starts in the free slot of every instance (so the canary and
the stable set have the same size and a weight is an exact share of requests),
is checked, and waits on standby. Then the spec's steps run in order:

- ``set_weight: N`` — one router operation: the canary slots take ``N`` and the
  stable slots ``100 - N`` of each instance's weight;
- ``pause`` — wait a duration, or for ``slipway promote`` when none is given;
- ``analysis`` — measure the canary against the stable set (its baseline) for
  a number of runs, and abort if it is bad.

The background analysis of the spec watches during every pause. After the last
step, all traffic goes to the canary, and the stable set is drained and stopped.
A first release (nothing serving) is simply started everywhere.
Pure: data in, steps out.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.strategy import CanarySpec
from slipway.steps import Analyse, Gate, Layout, Pause, Placement, Slot, Step, StepList
from slipway.strategies.common import FULL_WEIGHT, start_beside, switch, take_down


def canary(
    spec: CanarySpec, *, version: str, layout: Layout, placement: Sequence[Placement]
) -> list[Step]:
    plan = StepList()
    beside = start_beside(plan, version, layout=layout, placement=placement)
    if beside is None:  # a first release: nothing to compare with
        return plan.steps
    canaries, stable, stable_version = beside.new, beside.old, beside.old_version

    canary_side, baseline = beside.sides(version)
    watch = spec.analysis.model_dump(mode="json") if spec.analysis is not None else None
    weight = 0
    for number, step in enumerate(spec.steps, start=1):
        if step.set_weight is not None:
            weight = step.set_weight
            _set_weight(plan, weight, canaries=canaries, stable=stable, version=version)
        elif step.pause is not None:
            if step.pause.duration_s is not None:
                plan.one(
                    "pause",
                    Pause(
                        canary=canary_side,
                        baseline=baseline,
                        weight=weight,
                        watch=watch,
                        duration_s=step.pause.duration_s,
                    ),
                    f"pause {step.pause.duration_s:g}s at {weight}%",
                )
            else:
                plan.one(
                    "gate",
                    Gate(
                        canary=canary_side,
                        baseline=baseline,
                        weight=weight,
                        watch=watch,
                        timeout_s=step.pause.timeout_s,
                    ),
                    f"wait for `slipway promote` at {weight}%",
                )
        elif step.analysis is not None:
            plan.one(
                "analysis",
                Analyse(
                    canary=canary_side,
                    baseline=baseline,
                    weight=weight,
                    name=f"step {number}",
                    spec=step.analysis.model_dump(mode="json"),
                ),
                f"analysis of {version} at {weight}% against {stable_version}",
            )
    beside.promote(plan, version, description=f"promote: all traffic to {version}")
    take_down(plan, stable)
    return plan.steps


def _set_weight(
    plan: StepList, weight: int, *, canaries: list[Slot], stable: list[Slot], version: str
) -> None:
    """Per instance, the canary slot gets ``weight`` and the stable slot the rest."""
    ready = {}
    drain = []
    for slot in canaries:
        if weight > 0:
            ready[slot.name] = weight
        else:
            drain.append(slot.name)
    for slot in stable:
        if weight < FULL_WEIGHT:
            ready[slot.name] = FULL_WEIGHT - weight
        else:
            drain.append(slot.name)
    switch(plan, ready=ready, drain=drain, description=f"{weight}% of traffic to {version}")
