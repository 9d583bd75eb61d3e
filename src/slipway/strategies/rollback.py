"""Back to a known release: the plan of an automatic rollback and of ``slipway rollback``.

Traffic first, then instances: every instance gets ``version`` serving in one
of its slots — kept where it already serves, switched back to where it still
runs on standby (a blue-green's previous set during its scale-down delay, a
canary's stable set), started in the free slot where not — and traffic moves
to all of them in one router operation; only then are the other versions
drained and stopped. A slot still running ``version`` needs one passing probe,
not the full healthy threshold: that is what makes a blue-green rollback a
traffic switch of well under a second.

The plan is computed from the live placement, so it is right whatever point
the failed deployment reached — and computing it again after a crash is safe.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.steps import Layout, OfVersion, Placement, Slot, Step, StepList
from slipway.strategies.common import (
    FULL_WEIGHT,
    defined,
    serving,
    start_and_check,
    switch,
    take_down,
)


def back_to(version: str | None, *, layout: Layout, placement: Sequence[Placement]) -> list[Step]:
    """Steps that leave only ``version`` serving (nothing at all when ``version`` is None)."""
    plan = StepList()
    keep: list[Slot] = []
    standby: list[Slot] = []
    start: list[Slot] = []
    if version is not None:
        for pair in layout.instances:
            kept = [s for s in pair if (p := serving(placement, s)) and p.version == version]
            if kept:
                keep.append(kept[0])
                continue
            warm = [
                s
                for s in pair
                if (p := defined(placement, s)) and p.version == version and p.running
            ]
            if warm:
                standby.append(warm[0])
                continue
            free = [s for s in pair if serving(placement, s) is None]
            # prefer the slot where `version` is already defined (stopped, or not yet enabled)
            free.sort(key=lambda s: (p := defined(placement, s)) is None or p.version != version)
            start.append(free[0] if free else pair[0])
        start_and_check(plan, version, start, probe=standby)
    back = {s.name for s in [*keep, *standby, *start]}
    leave = [
        slot
        for pair in layout.instances
        for slot in pair
        if slot.name not in back and defined(placement, slot) is not None
    ]
    to_drain = [s.name for s in leave if serving(placement, s) is not None]
    if back or to_drain:
        switch(
            plan,
            ready={name: FULL_WEIGHT for name in sorted(back)},
            drain=to_drain,
            description=f"all traffic to {version}" if version else "no traffic to any slot",
        )
    take_down(plan, leave)
    if version is not None:
        plan.one("mark_current", OfVersion(version), f"record {version} as current")
    return plan.steps
