"""Step-building pieces every strategy shares: start, verify, switch on, drain, stop."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from slipway.spec.strategy import CanaryStep
from slipway.steps import (
    Analyse,
    Compared,
    Gate,
    Health,
    Layout,
    OfSlot,
    OfVersion,
    Params,
    Pause,
    Placement,
    Slot,
    Start,
    Step,
    StepKind,
    StepList,
    Switch,
    Watched,
    replace_params,
)

#: a step to run beside others, in their group: (kind, parameters, description)
Alongside = tuple[StepKind, Params, str]

FULL_WEIGHT = 100  # a slot's whole share of its instance's traffic


def resolve_count(value: int | str, total: int, *, round_up: bool) -> int:
    """``2`` → 2; ``"25%"`` of ``total``, rounded up (surge) or down (unavailable) like K8s."""
    if isinstance(value, int):
        return value
    exact = int(value.rstrip("%")) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def serving(placement: Sequence[Placement], slot: Slot) -> Placement | None:
    for p in placement:
        if p.slot == slot.name and p.serving:
            return p
    return None


def defined(placement: Sequence[Placement], slot: Slot) -> Placement | None:
    for p in placement:
        if p.slot == slot.name:
            return p
    return None


def bring_up(plan: StepList, version: str, slots: Iterable[Slot]) -> None:
    """Start ``version`` in ``slots``, wait until healthy, then send them traffic."""
    slots = list(slots)
    start_and_check(plan, version, slots)
    plan.group(
        "enable_instance",
        [(OfSlot(s.name), f"send traffic to {s.name}") for s in slots],
    )


def start_and_check(
    plan: StepList,
    version: str,
    slots: Iterable[Slot],
    *,
    probe: Iterable[Slot] = (),
    alongside: Sequence[Alongside] = (),
) -> None:
    """Start ``version`` in ``slots`` and wait until healthy, taking no traffic yet; in the
    same group, probe once each of ``probe`` (slots still running, to be trusted again) and
    run ``alongside`` (the pre-deploy baseline, measured while the new set gets healthy)."""
    slots = list(slots)
    plan.group(
        "start_instance",
        [
            (
                Start(s.name, s.port, version, s.instance),
                f"start {version} in {s.name} (port {s.port})",
            )
            for s in slots
        ],
    )
    plan.group(
        "health_check",
        [(Health(s.name, s.port), f"health check {s.name}") for s in slots]
        + [(Health(s.name, s.port, quick=True), f"probe {s.name} once") for s in probe],
    )
    for kind, params, description in alongside:  # in the health checks' group: in parallel
        plan.steps.append(Step(kind, params, description, plan.steps[-1].group))


def standby(plan: StepList, slots: Iterable[Slot]) -> None:
    """The router checks ``slots`` and holds them ready, sending them no traffic yet."""
    plan.group(
        "standby_instance",
        [(OfSlot(s.name), f"{s.name} on standby in the router") for s in slots],
    )


def switch(
    plan: StepList,
    *,
    ready: Mapping[str, int],
    drain: Sequence[str],
    description: str,
) -> None:
    """One router operation: ``ready`` slots take traffic at these weights, ``drain`` none."""
    plan.one(
        "switch_traffic",
        Switch(dict(ready), list(drain)),
        description,
    )


def take_down(plan: StepList, slots: Iterable[Slot], *, drain: bool = True) -> None:
    """Drain ``slots`` (no new requests, in-flight ones finish), then stop their processes."""
    slots = list(slots)
    if drain:
        plan.group(
            "drain_instance",
            [(OfSlot(s.name), f"drain {s.name}") for s in slots],
        )
    plan.group("stop_instance", [(OfSlot(s.name), f"stop {s.name}") for s in slots])


def other_slot(layout_pair: tuple[Slot, Slot], occupied: Slot | None) -> Slot:
    return layout_pair[1] if occupied == layout_pair[0] else layout_pair[0]


def live_pairs(
    layout: Layout, placement: Sequence[Placement]
) -> list[tuple[tuple[Slot, Slot], Slot | None]]:
    """Each instance with the slot that serves now (None for an instance serving nothing)."""
    result: list[tuple[tuple[Slot, Slot], Slot | None]] = []
    for pair in layout.instances:
        live = [s for s in pair if serving(placement, s) is not None]
        result.append((pair, live[0] if live else None))
    return result


def idle_slots(layout: Layout, placement: Sequence[Placement]) -> list[Slot]:
    """Slots with a process defined that takes no traffic: leftovers of an earlier run."""
    return [
        slot
        for pair in layout.instances
        for slot in pair
        if (p := defined(placement, slot)) is not None and not p.serving
    ]


@dataclass(frozen=True)
class Beside:
    """A new release started beside the live one: its slots, the old ones, the old version;
    ``pending``: free slots of instances where it is not started yet (a scaled canary)."""

    new: list[Slot]
    old: list[Slot]
    old_version: str
    pending: list[Slot] = field(default_factory=list)

    def sides(self, version: str) -> tuple[Compared, Compared]:
        """The two sides an analysis or a gate compares: the new release and its baseline."""
        return (
            Compared(version, [s.name for s in self.new]),
            Compared(self.old_version, [s.name for s in self.old]),
        )

    def promote(self, plan: StepList, version: str, *, description: str) -> None:
        """All traffic to the new slots in one switch, the old ones draining; then it is
        the current release."""
        switch(
            plan,
            ready={s.name: FULL_WEIGHT for s in self.new},
            drain=[s.name for s in self.old],
            description=description,
        )
        plan.one("mark_current", OfVersion(version), f"record {version} as current")


def start_beside(
    plan: StepList,
    version: str,
    *,
    layout: Layout,
    placement: Sequence[Placement],
    only: int | None = None,
    alongside: Sequence[Alongside] = (),
) -> Beside | None:
    """Start ``version`` in the free slot of every instance (or of the first ``only``),
    checked and on standby in the router (blue-green's green set, a canary). Leftover idle
    slots are stopped first.

    A first release has nothing to be beside: it is started everywhere, marked current,
    and None is returned — the plan is then complete.
    """
    take_down(plan, idle_slots(layout, placement), drain=False)
    pairs = live_pairs(layout, placement)
    old = [slot for _, slot in pairs if slot is not None]
    if not old:
        bring_up(plan, version, [pair[0] for pair, _ in pairs])
        plan.one("mark_current", OfVersion(version), f"record {version} as current")
        return None
    old_version = next(p.version for s in old if (p := defined(placement, s)) is not None)
    free = [other_slot(pair, slot) for pair, slot in pairs]
    new, pending = (free, []) if only is None else (free[:only], free[only:])
    start_and_check(plan, version, new, alongside=alongside)
    standby(plan, new)
    return Beside(new, old, old_version, pending)


def live_side(layout: Layout, placement: Sequence[Placement]) -> Compared | None:
    """The release serving now and its slots (None when nothing serves): what a deployment's
    pre-deploy baseline measures."""
    slots = [slot for _, slot in live_pairs(layout, placement) if slot is not None]
    if not slots:
        return None
    version = next(p.version for s in slots if (p := defined(placement, s)) is not None)
    return Compared(version, [s.name for s in slots])


def wait(
    plan: StepList, step: CanaryStep, number: int, watched: Watched, *, where: str, analysed: str
) -> None:
    """A progressive step's pause (timed, or until `slipway promote`) or analysis, comparing
    what ``watched`` compares: a canary's slots, or a flag's users on and off. ``where`` ends
    a wait's description (``at 5%``), ``analysed`` is an analysis's."""
    if step.pause is not None and step.pause.duration_s is not None:
        pause = replace_params(Pause, watched, duration_s=step.pause.duration_s)
        plan.one("pause", pause, f"pause {step.pause.duration_s:g}s {where}")
    elif step.pause is not None:
        gate = replace_params(Gate, watched, timeout_s=step.pause.timeout_s)
        plan.one("gate", gate, f"wait for `slipway promote` {where}")
    elif step.analysis is not None:
        analyse = Analyse(
            canary=watched.canary,
            baseline=watched.baseline,
            weight=watched.weight,
            name=f"step {number}",
            spec=step.analysis.model_dump(mode="json"),
        )
        plan.one("analysis", analyse, analysed)
