"""Canary: a share of the traffic to the new release, step by step, under analysis.

The new release starts in the free slot of every instance (so the canary and
the stable set have the same size and a weight is an exact share of requests),
is checked, and waits on standby. Then the spec's steps run in order:

- ``set_header_route: {name, value}`` — requests carrying that header (or cookie) go to the
  canary slots whatever the weights (``router/header_routes.py``), until promotion or a
  rollback removes the route: testers reach the canary on purpose, even at weight 0;
- ``set_weight: N`` — one router operation: the canary slots take ``N`` and the
  stable slots ``100 - N`` of each instance's weight;
- ``pause`` — wait a duration, or for ``slipway promote`` when none is given;
- ``analysis`` — measure the canary against the stable set (its baseline) for
  a number of runs, and abort if it is bad.

The background analysis of the spec watches during every pause. After the last
step, all traffic goes to the canary, and the stable set is drained and stopped.
A first release (nothing serving) is simply started everywhere.

With ``scale`` (Argo's ``setCanaryScale``), the canary runs on ``k`` of the ``n`` instances only
— a hundred hosts need not start a hundred new processes for 10 % of the traffic — and grows
as ``match_traffic_weight`` asks. The share then comes from per-slot weights: with ``k``
canaries beside ``n`` stable instances at ``w`` %, each canary slot weighs ``c`` and each
stable slot ``s`` where ``c / s = w·n / (k·(100 - w))``, both kept within HAProxy's 1..256.
The instances without a canary get the new release at promotion, before the switch.
Pure: data in, steps out.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.strategy import CanaryScale, CanarySpec, HeaderRouteSpec
from slipway.steps import (
    Compared,
    HeaderRoute,
    Layout,
    Nothing,
    Placement,
    Step,
    StepList,
    Watched,
)
from slipway.strategies.common import (
    FULL_WEIGHT,
    Beside,
    live_side,
    standby,
    start_and_check,
    start_beside,
    switch,
    take_down,
    wait,
)
from slipway.strategies.post_promotion import baseline_step, watch_after

MAX_WEIGHT = 256  # HAProxy's per-server weight range is 1..256 (0: no traffic)


def canary(
    spec: CanarySpec, *, version: str, layout: Layout, placement: Sequence[Placement]
) -> list[Step]:
    plan = StepList()
    first = next((s.set_weight for s in spec.steps if s.set_weight is not None), 0)
    total = len(layout.instances)
    scale = spec.scale
    after = spec.post_promotion
    before = live_side(layout, placement) if after is not None else None
    beside = start_beside(
        plan,
        version,
        layout=layout,
        placement=placement,
        only=_scaled(scale, total, first) if scale else None,
        alongside=[baseline_step(after, before)] if after and before else [],
    )
    if beside is None:  # a first release: nothing to compare with
        return plan.steps
    stable_version = beside.old_version
    watch = spec.analysis.model_dump(mode="json") if spec.analysis is not None else None
    weight = 0
    canary_side, baseline = beside.sides(version)
    for number, step in enumerate(spec.steps, start=1):
        if step.set_weight is not None:
            weight = step.set_weight
            if scale is not None:
                _grow(plan, beside, version, _scaled(scale, total, weight))
                canary_side, baseline = beside.sides(version)
            _set_weight(plan, weight, beside, version=version)
            continue
        if step.set_header_route is not None:
            _route(plan, step.set_header_route, beside, version=version)
            continue
        watched = Watched(canary=canary_side, baseline=baseline, weight=weight, watch=watch)
        analysed = f"analysis of {version} at {weight}% against {stable_version}"
        wait(plan, step, number, watched, where=f"at {weight}%", analysed=analysed)
    _grow(plan, beside, version, len(beside.pending) + len(beside.new))
    beside.promote(plan, version, description=f"promote: all traffic to {version}")
    if spec.header_routes():
        plan.one("clear_header_routes", Nothing(), "header routes removed: all traffic is on it")
    take_down(plan, beside.old)
    if after is not None and before is not None:
        watch_after(
            plan,
            after,
            canary=Compared(version, [s.name for s in beside.new]),
            baseline=before,
            kept=f"{stable_version} stopped, its release on disk",
        )
    return plan.steps


def _route(plan: StepList, route: HeaderRouteSpec, beside: Beside, *, version: str) -> None:
    """Requests with the route's header (or cookie) to the canary slots, weights aside."""
    slots = [s.name for s in beside.new]
    params = HeaderRoute(route.match, route.name, route.value, slots, version)
    plan.one("set_header_route", params, f"{route.describe()} ({version} in {', '.join(slots)})")


def _scaled(scale: CanaryScale, total: int, weight: int) -> int:
    """The spec's canary count at ``weight``, raised where weights alone cannot give it."""
    return min(total, max(scale.count(total, weight), fewest_canaries(weight, stable=total)))


def _grow(plan: StepList, beside: Beside, version: str, count: int) -> None:
    """Start the canary on more instances, up to ``count``, checked and on standby."""
    more = beside.pending[: max(0, count - len(beside.new))]
    if not more:
        return
    start_and_check(plan, version, more)
    standby(plan, more)
    beside.new.extend(more)
    del beside.pending[: len(more)]


def _set_weight(plan: StepList, weight: int, beside: Beside, *, version: str) -> None:
    """One switch giving the canary slots ``weight`` percent of the traffic."""
    canary, stable = slot_weights(weight, canaries=len(beside.new), stable=len(beside.old))
    ready = {}
    drain = []
    for slot in beside.new:
        if canary > 0:
            ready[slot.name] = canary
        else:
            drain.append(slot.name)
    for slot in beside.old:
        if stable > 0:
            ready[slot.name] = stable
        else:
            drain.append(slot.name)
    switch(plan, ready=ready, drain=drain, description=f"{weight}% of traffic to {version}")


def slot_weights(weight: int, *, canaries: int, stable: int) -> tuple[int, int]:
    """Per-slot weights (canary, stable) so that ``canaries`` slots beside ``stable`` ones get
    ``weight`` percent of the requests; 0 takes a side out. With one canary beside each stable
    instance it is ``weight`` and ``100 - weight``, as it always was."""
    if weight <= 0:
        return 0, FULL_WEIGHT
    if weight >= FULL_WEIGHT:
        return FULL_WEIGHT, 0
    if canaries == stable:
        return weight, FULL_WEIGHT - weight
    ratio = weight * stable / (canaries * (FULL_WEIGHT - weight))  # canary / stable
    best = (MAX_WEIGHT, 1)
    for s in range(1, MAX_WEIGHT + 1):  # the pair within 1..256 closest to the ratio
        c = min(MAX_WEIGHT, max(1, round(ratio * s)))
        if abs(c / s - ratio) < abs(best[0] / best[1] - ratio):
            best = (c, s)
    return best


def fewest_canaries(weight: int, *, stable: int) -> int:
    """The fewest canaries beside ``stable`` instances that per-slot weights (at most 256 to 1)
    can give ``weight`` percent: one canary beside a hundred instances gets 72 % at most."""
    if weight <= 0:
        return 1
    if weight >= FULL_WEIGHT:
        return stable
    return max(1, -(-weight * stable // (MAX_WEIGHT * (FULL_WEIGHT - weight))))
