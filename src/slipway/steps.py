"""Steps and placements: the data strategies produce and the engine runs.

A ``Step`` is pure data: a kind, its parameters and a sentence for people.
Consecutive steps with the same ``group`` may run in parallel (one batch of a
rolling update starts its instances together). Every kind is idempotent,
which is what lets ``slipway resume`` re-run the step that was in flight when
a runner died.

Parameters are typed, one frozen class per kind of step (``PARAMS``): a strategy builds them,
so a misspelt or missing parameter is a type error, not a ``KeyError`` in the middle of a
deployment; the store keeps them as JSON, and ``params_of`` reads a stored step back, ignoring
keys it does not know (a record of another Slipway version) rather than refusing to resume it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeVar

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
    "backup_media",  # the media directory: tar + sha256 manifest, re-read, recorded
    "rehearse_migration",  # the migration on a scratch copy restored from that backup
    "migrate_database",  # the migration command against the environment's database
    "restore_database",  # put a backup back (behind a gate: loses newer data)
    "start_process",  # run a version as one process of a role without traffic (a worker)
    "check_process",  # the role's check passes for that process, or fail
    "stop_process",  # warm shutdown of a role's process (SIGTERM, bounded), then forget it
    "migrate_back",  # reverse the migrations a deployment applied (behind a gate)
    "maintenance",  # the router answers its maintenance page (on) or the app again (off)
    "set_flag",  # a feature flag's share of users, in one write (the flag source serves it)
    "verify_flag",  # synthetic keys through the flag server: the share served is the share set
    "record_baseline",  # measure the live release before anything moves, for the watch after
    "post_promotion",  # all traffic on the new release: watched against that baseline a while
    "set_header_route",  # requests with a header (or cookie) to the canary, whatever the weights
    "clear_header_routes",  # every such route removed (a rollback)
]

StepState = Literal["pending", "running", "succeeded", "failed", "compensated", "skipped"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    params: Params
    description: str
    group: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": self.params.as_dict(),
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
class ProcessPlacement:
    """What a role's process (``worker-1_a``) runs now, read from the target."""

    name: str
    role: str
    version: str
    running: bool


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

    def group(self, kind: StepKind, items: Sequence[tuple[Params, str]]) -> None:
        """Append one step per item, all in a new parallel group; nothing if ``items`` is empty."""
        if not items:
            return
        self._group += 1
        for params, description in items:
            self.steps.append(Step(kind, params, description, self._group))

    def one(self, kind: StepKind, params: Params, description: str) -> None:
        self.group(kind, [(params, description)])

    def extend(self, steps: Sequence[Step]) -> None:
        """Append another plan's steps, its parallel groups numbered after this one's."""
        previous: int | None = None
        for step in steps:
            if step.group != previous:
                self._group += 1
                previous = step.group
            self.steps.append(Step(step.kind, step.params, step.description, self._group))


# the parameters of each kind of step


@dataclass(frozen=True)
class Params:
    """What every step's parameters are: a frozen record that turns into plain JSON."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Nothing(Params):
    """A step that needs nothing more than its kind (``ensure_infra``)."""


@dataclass(frozen=True)
class OfVersion(Params):
    """A step about one release: prepare it, mark it current, back up or migrate for it."""

    version: str


@dataclass(frozen=True)
class OfSlot(Params):
    """A router or target move of one slot: enable, standby, drain, stop."""

    slot: str


@dataclass(frozen=True)
class Start(Params):
    slot: str
    port: int
    version: str
    instance: str


@dataclass(frozen=True)
class Health(Params):
    slot: str
    port: int
    #: a slot still running the release it goes back to needs one passing probe, not a streak
    quick: bool = False


@dataclass(frozen=True)
class Smoke(Params):
    slot: str
    port: int
    index: int  # which of the strategy's smoke requests


@dataclass(frozen=True)
class Switch(Params):
    """One router operation: ``ready`` slots take traffic at these weights, ``drain`` none."""

    ready: dict[str, int]
    drain: list[str]


@dataclass(frozen=True)
class HeaderRoute(Params):
    """``match`` (header, cookie) ``name`` = ``value`` to ``slots``; None: the route removed."""

    match: str
    name: str
    value: str | None
    slots: list[str]
    version: str


@dataclass(frozen=True)
class Compared(Params):
    """One side an analysis compares: a release and the slots it runs in — and, for a flag
    rollout, the flag's variant its users got (both sides then run the same release)."""

    version: str
    slots: list[str]
    flag: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class Watched(Params):
    """What a wait compares while it waits: the new release and its baseline, at a weight."""

    canary: Compared | None = None
    baseline: Compared | None = None
    weight: int | None = None
    #: the background analysis (an ``analysis:`` spec as JSON) run while waiting
    watch: dict[str, Any] | None = None


@dataclass(frozen=True)
class Pause(Watched):
    duration_s: float = 0.0


RecordBaseline = Pause  # a pause's shape: measures ``baseline`` for ``duration_s``, and
PostPromotion = Pause  # compares ``canary`` with that record as long (strategies/post_promotion)


@dataclass(frozen=True)
class Gate(Watched):
    """Wait for a person: ``gate`` is promote, go_no_go or confirm_restore."""

    gate: str = "promote"
    timeout_s: float | None = None
    approvers: list[str] = field(default_factory=list)
    version: str | None = None
    backup: str | None = None
    #: how many different people must approve; whether the deployer may be one of them
    quorum: int = 1
    distinct_from_deployer: bool = False


@dataclass(frozen=True)
class Analyse(Watched):
    name: str = "analysis"
    spec: dict[str, Any] = field(default_factory=dict)  # an ``analysis:`` spec as JSON


@dataclass(frozen=True)
class Hold(Params):
    """Keep the previous set up after a switch, so a rollback is a switch back."""

    duration_s: float
    version: str


@dataclass(frozen=True)
class Restore(Params):
    backup: str
    #: the gate whose approval this restore needs (None: restore without asking)
    confirmed_by: str | None = None


@dataclass(frozen=True)
class MigrateBack(Params):
    """``migrate <app> <target>`` for each app, with the code of ``version`` (which knows the
    migrations to reverse), once the gate ``confirmed_by`` said yes."""

    version: str
    targets: dict[str, str]
    confirmed_by: str | None = None


@dataclass(frozen=True)
class Maintenance(Params):
    on: bool


@dataclass(frozen=True)
class OfProcess(Params):
    """One process of a role without traffic: ``worker-1_b`` of ``worker``."""

    role: str
    name: str


@dataclass(frozen=True)
class ProcessStart(OfProcess):
    """Start (or check) a role's process running ``version``."""

    version: str = ""


@dataclass(frozen=True)
class SetFlag(Params):
    """The flag ``flag`` on for ``weight`` percent of users (sticky by targeting key)."""

    flag: str
    weight: int


@dataclass(frozen=True)
class VerifyFlag(Params):
    """Evaluate ``keys`` synthetic targeting keys through the flag server: ``weight`` percent
    on, and every key that was on at ``previous`` still on."""

    flag: str
    weight: int
    previous: int
    keys: int


PARAMS: dict[str, type[Params]] = {
    "prepare_release": OfVersion,
    "ensure_infra": Nothing,
    "start_instance": Start,
    "health_check": Health,
    "enable_instance": OfSlot,
    "drain_instance": OfSlot,
    "stop_instance": OfSlot,
    "mark_current": OfVersion,
    "standby_instance": OfSlot,
    "switch_traffic": Switch,
    "smoke_test": Smoke,
    "analysis": Analyse,
    "pause": Pause,
    "gate": Gate,
    "hold": Hold,
    "backup_database": OfVersion,
    "backup_media": OfVersion,
    "rehearse_migration": OfVersion,
    "migrate_database": OfVersion,
    "restore_database": Restore,
    "start_process": ProcessStart,
    "check_process": ProcessStart,
    "stop_process": OfProcess,
    "migrate_back": MigrateBack,
    "maintenance": Maintenance,
    "set_flag": SetFlag,
    "verify_flag": VerifyFlag,
    "record_baseline": RecordBaseline,
    "post_promotion": PostPromotion,
    "set_header_route": HeaderRoute,
    "clear_header_routes": Nothing,
}

P = TypeVar("P", bound=Params)
W = TypeVar("W", bound=Watched)


def replace_params(cls: type[W], watched: Watched, **more: Any) -> W:
    """A wait's parameters (``cls``) comparing what ``watched`` compares, with ``more``."""
    kept = {f: getattr(watched, f) for f in ("canary", "baseline", "weight", "watch")}
    return cls(**kept, **more)


def params_of(kind: str, data: Mapping[str, Any]) -> Params:
    """A stored step's parameters as its kind's class."""
    return _build(PARAMS[kind], data)


def _build(cls: type[P], data: Mapping[str, Any]) -> P:
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name in ("canary", "baseline") and isinstance(value, Mapping):
            value = _build(Compared, value)
        values[f.name] = value
    return cls(**values)
