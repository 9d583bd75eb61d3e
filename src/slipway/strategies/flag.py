"""Feature flag: the release's code goes out dark, then a flag's share of users grows.

Deploying and releasing are two moves. First the flag is set to 0 % — nobody gets the new
code path — and the release's code replaces the old one instance by instance (the
``rollout``, a rolling update). Then the spec's steps run in order, like a canary's, except
that a weight is the flag's share of *users*, not of requests to a set of instances:

- ``set_weight: N`` — one write to the flag source: ``N`` % of targeting keys get the flag
  on, and a key that had it keeps it as N grows (hash buckets); then the served split is
  verified with synthetic keys through the flag server;
- ``pause`` and ``analysis`` — as for a canary, comparing the requests of users with the flag
  on against those of users with it off, on the same instances of the same release.

After the last step the flag is on for everyone. Taking it back (``flag_undo``) once the code
is live is one write: the flag at 0 %, no instance restarted; before that, the rollout is
rolled back like any other. Pure: data in, steps out.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.strategy import FlagSpec
from slipway.steps import (
    Compared,
    Layout,
    Placement,
    SetFlag,
    Slot,
    Step,
    StepList,
    VerifyFlag,
    Watched,
)
from slipway.strategies.common import FULL_WEIGHT, live_side, other_slot, serving, wait
from slipway.strategies.post_promotion import record_baseline, watch_after
from slipway.strategies.rolling import rolling

ON, OFF = "on", "off"


def flag(
    spec: FlagSpec, *, version: str, layout: Layout, placement: Sequence[Placement]
) -> list[Step]:
    plan = StepList()
    key = spec.flag
    plan.one("set_flag", SetFlag(key, 0), f"{key} off for everyone: {version} ships dark")
    after = spec.post_promotion
    before = live_side(layout, placement) if after is not None else None
    if after is not None and before is not None:
        record_baseline(plan, after, before)
    plan.extend(rolling(spec.rollout, version=version, layout=layout, placement=placement))
    slots = [s.name for s in _serving_after(layout, placement, version)]
    on = Compared(version, slots, flag=key, variant=ON)
    off = Compared(version, slots, flag=key, variant=OFF)
    watch = spec.analysis.model_dump(mode="json") if spec.analysis is not None else None
    weight = 0
    for number, step in enumerate(spec.steps, start=1):
        if step.set_weight is not None:
            _set(plan, spec, weight=step.set_weight, previous=weight)
            weight = step.set_weight
        else:
            watched = Watched(canary=on, baseline=off, weight=weight, watch=watch)
            where, analysed = (
                f"with {key} at {weight}%",
                f"analysis of {key} on against off at {weight}%",
            )
            wait(plan, step, number, watched, where=where, analysed=analysed)
    if weight != FULL_WEIGHT:
        _set(plan, spec, weight=FULL_WEIGHT, previous=weight)
    if after is not None and before is not None:
        watch_after(plan, after, canary=on, baseline=before, kept=f"taking it back: {key} at 0 %")
    return plan.steps


def _set(plan: StepList, spec: FlagSpec, *, weight: int, previous: int) -> None:
    key = spec.flag
    plan.one("set_flag", SetFlag(key, weight), f"{key} on for {weight}% of users")
    plan.one(
        "verify_flag",
        VerifyFlag(key, weight, previous, spec.verify_keys),
        f"verify {key}: {weight}% of {spec.verify_keys} synthetic keys on, sticky",
    )


def _serving_after(layout: Layout, placement: Sequence[Placement], version: str) -> list[Slot]:
    """The slot of each instance that serves ``version`` once the rollout is done: where it
    serves already, else the free slot beside the old release, else the first (as
    ``rolling`` places it)."""
    result = []
    for pair in layout.instances:
        live = [s for s in pair if serving(placement, s) is not None]
        mine = [s for s in live if (p := serving(placement, s)) and p.version == version]
        if mine:
            result.append(mine[0])
        elif live:
            result.append(other_slot(pair, live[0]))
        else:
            result.append(pair[0])
    return result


def flag_undo(
    spec: FlagSpec, *, version: str, done: Sequence[tuple[str, str]]
) -> list[Step] | None:
    """Once the release's code is live (its ``mark_current`` succeeded): the flag back to 0 %
    in one write, and nothing else — its instances stay. Before that: None, and the rollout
    is rolled back like any other (the flag was at 0 % all along). ``done``: (kind, state) of
    the deployment's steps."""
    if ("mark_current", "succeeded") not in done:
        return None
    plan = StepList()
    plan.one(
        "set_flag",
        SetFlag(spec.flag, 0),
        f"{spec.flag} off for everyone: {version} stays, dark",
    )
    return plan.steps
