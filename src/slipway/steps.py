"""Steps and placements: the data strategies produce and the engine runs.

A ``Step`` is pure data: a kind, its parameters and a sentence for people.
Consecutive steps with the same ``group`` may run in parallel (one batch of a
rolling update starts its instances together). Every kind is idempotent,
which is what lets ``slipway resume`` re-run the step that was in flight when
a runner died.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

StepKind = Literal[
    "prepare_release",  # build or unpack the release into releases/<version>/
    "ensure_infra",  # supervisord and the router are up, with the current config
    "start_instance",  # run a version in a slot (replacing what was there)
    "health_check",  # wait until the slot's instance is healthy, or fail
    "enable_instance",  # the router sends the slot traffic
    "drain_instance",  # no new traffic, in-flight requests finish, then maintenance
    "stop_instance",  # stop the slot's process
    "mark_current",  # record the environment's current release and link it
    "standby_instance",  # checked by the router and ready, but no new traffic
    "switch_traffic",  # in one router operation: these slots take traffic (weights), those drain
    "smoke_test",  # requests to a new instance before it takes user traffic
    "analysis",  # measure the canary against its baseline for a number of runs; abort if bad
    "pause",  # wait a duration (background analysis and signals watched meanwhile)
    "gate",  # wait for a person: promote / approve / reject (or a timeout)
    "hold",  # keep the previous set up after a switch, so a rollback is a switch back
    "backup_database",  # pg_dump -Fc, verified with pg_restore --list, recorded
    "rehearse_migration",  # the migration on a scratch copy restored from that backup
    "migrate_database",  # the migration command against the environment's database
    "restore_database",  # put a backup back (behind a gate: loses newer data)
]

StepState = Literal["pending", "running", "succeeded", "failed", "compensated", "skipped"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    params: Mapping[str, Any]
    description: str
    group: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": dict(self.params),
            "description": self.description,
            "group": self.group,
        }


@dataclass(frozen=True)
class Slot:
    """One of the two slots of an instance: a router server and a port."""

    instance: str
    name: str
    port: int


@dataclass(frozen=True)
class Placement:
    """What occupies a slot now: the version defined there and whether it takes traffic."""

    slot: str
    version: str
    running: bool
    serving: bool


@dataclass(frozen=True)
class Layout:
    """The instances of an environment and their two slots each."""

    instances: tuple[tuple[Slot, Slot], ...]

    @classmethod
    def from_slots(cls, slots: list[tuple[str, str, int]]) -> Layout:
        by_instance: dict[str, list[Slot]] = {}
        for instance, name, port in slots:
            by_instance.setdefault(instance, []).append(Slot(instance, name, port))
        return cls(tuple((pair[0], pair[1]) for pair in by_instance.values()))

    def slot(self, name: str) -> Slot:
        for pair in self.instances:
            for slot in pair:
                if slot.name == name:
                    return slot
        raise KeyError(name)


@dataclass
class StepList:
    """Builds a list of steps, numbering the parallel groups."""

    steps: list[Step] = field(default_factory=list)
    _group: int = 0

    def group(self, kind: StepKind, items: Sequence[tuple[Mapping[str, Any], str]]) -> None:
        """Append one step per item, all in a new parallel group; nothing if ``items`` is empty."""
        if not items:
            return
        self._group += 1
        for params, description in items:
            self.steps.append(Step(kind, params, description, self._group))

    def one(self, kind: StepKind, params: Mapping[str, Any], description: str) -> None:
        self.group(kind, [(params, description)])
