"""Back to a known release: the plan of an automatic rollback and of ``slipway rollback``.

Traffic first, then instances: every instance gets ``version`` serving in one
of its slots (kept where it already serves, started in the free slot where
not), all at once; only then are the other versions drained and stopped. The
plan is computed from the live placement, so it is right whatever point the
failed deployment reached — and computing it again after a crash is safe.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.steps import Layout, Placement, Slot, Step, StepList
from slipway.strategies.common import bring_up, defined, serving, take_down


def back_to(version: str | None, *, layout: Layout, placement: Sequence[Placement]) -> list[Step]:
    """Steps that leave only ``version`` serving (nothing at all when ``version`` is None)."""
    plan = StepList()
    keep: set[str] = set()
    start: list[Slot] = []
    if version is not None:
        for pair in layout.instances:
            kept = [s for s in pair if (p := serving(placement, s)) and p.version == version]
            if kept:
                keep.add(kept[0].name)
                continue
            free = [s for s in pair if serving(placement, s) is None]
            # prefer the slot where `version` is already defined (stopped, or not yet enabled)
            free.sort(key=lambda s: (p := defined(placement, s)) is None or p.version != version)
            slot = free[0] if free else pair[0]
            start.append(slot)
            keep.add(slot.name)
        bring_up(plan, version, start)
    leave = [
        slot
        for pair in layout.instances
        for slot in pair
        if slot.name not in keep and defined(placement, slot) is not None
    ]
    take_down(plan, leave)
    if version is not None:
        plan.one("mark_current", {"version": version}, f"record {version} as current")
    return plan.steps
