"""Roles without traffic onto one release: workers beside their predecessors, a singleton
after its predecessor is gone.

Whatever web's strategy, the plan runs these steps once web's new instances are healthy and
serving (``plan.py`` puts them before the release is marked current), and a rollback runs
them once web is back (traffic first). Per role, in the spec's order:

- a role of ``count`` processes: each gets the version in a free slot of its own
  (``worker-1_b`` beside ``worker-1_a``), all started together, each checked by the role's
  check, and only then are the old ones stopped — with a warm shutdown (SIGTERM lets their
  running tasks finish, bounded by ``stop_timeout_s``). Never fewer than ``count`` run.
- a ``singleton`` (beat): the old process is stopped first — ``stop_process`` returns once
  it is gone — then the new one starts and is checked. Never two at once, at the cost of a
  gap of one stop and one start.

A process already running the version is kept; processes of roles no longer in the spec, or
beyond a role's ``count``, are stopped. ``version=None`` stops every role's process (the
rollback of a first release). Pure: spec and live processes in, steps out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from slipway.spec.roles import RoleSpec
from slipway.steps import OfProcess, ProcessPlacement, ProcessStart, Step, StepList

Slots = Mapping[str, Sequence[tuple[str, str, str | None]]]


def roles_steps(
    roles: Mapping[str, RoleSpec],
    *,
    slots: Slots,
    version: str | None,
    processes: Sequence[ProcessPlacement],
) -> list[Step]:
    """Steps that leave every role running ``version`` (none at all when it is None);
    ``slots`` names each role's processes (``Environment.role_slots``)."""
    plan = StepList()
    known: set[str] = set()
    for role, spec in roles.items():
        pairs = [(a, b) for a, b, _ in slots.get(role, ())]
        known |= {slot for pair in pairs for slot in pair}
        if version is not None:
            _one_role(plan, role, spec, pairs, version, processes)
    leftovers = [p for p in processes if version is None or p.name not in known]
    _stop(plan, leftovers)
    return plan.steps


def _one_role(
    plan: StepList,
    role: str,
    spec: RoleSpec,
    pairs: Sequence[tuple[str, str]],
    version: str,
    processes: Sequence[ProcessPlacement],
) -> None:
    by_name = {p.name: p for p in processes}
    start: list[ProcessStart] = []
    old: list[ProcessPlacement] = []
    for a, b in pairs:
        here = [by_name[s] for s in (a, b) if s in by_name]
        if any(p.version == version and p.running for p in here):
            kept = next(p for p in here if p.version == version and p.running)
            old += [p for p in here if p is not kept]
            continue
        slot = _free_slot(a, b, here, version)
        start.append(ProcessStart(role, slot, version))
        old += [p for p in here if p.name != slot]
    if spec.singleton:
        _stop(plan, old)
    plan.group(
        "start_process",
        [(s, f"start {version} as {s.name} ({role})") for s in start],
    )
    if spec.check is not None:
        plan.group(
            "check_process",
            [(s, f"check {s.name} ({role}): {' '.join(spec.check.command)}") for s in start],
        )
    if not spec.singleton:
        _stop(plan, old)


def _free_slot(a: str, b: str, here: Sequence[ProcessPlacement], version: str) -> str:
    """Where the new process goes: where ``version`` is defined but stopped (restart it), else
    the slot with nothing running, else ``a``."""
    for p in here:
        if p.version == version:
            return p.name
    running = {p.name for p in here if p.running}
    return b if a in running else a


def _stop(plan: StepList, processes: Sequence[ProcessPlacement]) -> None:
    plan.group(
        "stop_process",
        [
            (OfProcess(p.role, p.name), f"stop {p.name} ({p.role}, {p.version}): warm shutdown")
            for p in processes
        ],
    )
