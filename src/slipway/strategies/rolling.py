"""Rolling update: replace instances batch by batch behind the router.

``max_surge`` and ``max_unavailable`` mean what they mean for a Kubernetes
Deployment: during the update, at most ``count + max_surge`` instances exist,
and at least ``count - max_unavailable`` instances take traffic. Percentages
are of ``count``; surge rounds up and unavailable rounds down, and when both
come to 0, one instance may be unavailable (as Kubernetes does).
``batch_size`` is how many instances are replaced in one round.

One round of ``k`` instances, where ``k ≤ max_surge + max_unavailable``:

1. if ``k > max_surge``, drain and stop ``k - max_surge`` old instances first
   (never more than ``max_unavailable``);
2. start ``k`` new instances in the instances' free slots, wait until they are
   healthy, send them traffic;
3. drain and stop the remaining old instances of the round.

Pure: spec, version, layout and placement in, steps out.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.strategy import RollingSpec
from slipway.steps import Layout, OfVersion, Placement, Slot, Step, StepList
from slipway.strategies.common import (
    bring_up,
    idle_slots,
    other_slot,
    resolve_count,
    serving,
    take_down,
)


def rolling(
    spec: RollingSpec, *, version: str, layout: Layout, placement: Sequence[Placement]
) -> list[Step]:
    total = len(layout.instances)
    surge = min(resolve_count(spec.max_surge, total, round_up=True), total)
    unavailable = min(resolve_count(spec.max_unavailable, total, round_up=False), total)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    batch = max(1, resolve_count(spec.batch_size, total, round_up=True))

    plan = StepList()
    take_down(plan, idle_slots(layout, placement), drain=False)

    # Instances already on `version` keep it; one still serving an old version beside it
    # (a run interrupted between enable and drain) gets the old one drained.
    todo: list[tuple[tuple[Slot, Slot], Slot | None]] = []
    extra_old: list[Slot] = []
    for pair in layout.instances:
        live = [(s, p) for s in pair if (p := serving(placement, s)) is not None]
        if any(p.version == version for _, p in live):
            extra_old += [s for s, p in live if p.version != version]
        else:
            todo.append((pair, live[0][0] if live else None))
    take_down(plan, extra_old)

    # Empty instances (a first deploy) cost neither surge nor availability.
    fresh = [pair for pair, old in todo if old is None]
    for i in range(0, len(fresh), batch):
        bring_up(plan, version, [pair[0] for pair in fresh[i : i + batch]])

    replace = [(pair, old) for pair, old in todo if old is not None]
    per_round = max(1, min(batch, surge + unavailable))
    for i in range(0, len(replace), per_round):
        chunk = replace[i : i + per_round]
        stop_first = max(0, len(chunk) - surge)
        olds = [old for _, old in chunk if old is not None]
        take_down(plan, olds[:stop_first])
        bring_up(plan, version, [other_slot(pair, old) for pair, old in chunk])
        take_down(plan, olds[stop_first:])

    plan.one("mark_current", OfVersion(version), f"record {version} as current")
    return plan.steps
