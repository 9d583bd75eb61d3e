"""The ``Target`` interface: where instances run.

A target knows how to run one instance of a release in a named *slot* (a fixed
port the router also knows), report what runs in each slot, and stop it. Every
method is idempotent: ``start`` of a slot already running that version does
nothing, ``stop`` of a stopped slot does nothing. That is what lets
``slipway resume`` re-run a step that was in flight when a runner died.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class InstanceSpec:
    """What to run in a slot."""

    slot: str
    port: int
    version: str
    release_dir: Path
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    stop_timeout_s: float = 10.0
    image: str | None = None  # a container release: the image ID to run (docker target)
    deployment: str = ""  # the deployment starting it (a container's label)


@dataclass(frozen=True)
class InstanceState:
    """What runs in a slot now, as the target itself reports it."""

    slot: str
    port: int
    version: str
    running: bool
    state: str
    pid: int | None


@dataclass(frozen=True)
class RoleProcess:
    """What to run as one process of a role without traffic (``worker-1_b``)."""

    name: str
    role: str
    version: str
    release_dir: Path
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    #: warm shutdown: how long SIGTERM lets running work finish before SIGKILL
    stop_timeout_s: float = 30.0
    image: str | None = None  # a container release: the image ID to run (docker target)
    deployment: str = ""  # the deployment starting it (a container's label)


@dataclass(frozen=True)
class ProcessState:
    """What runs as a role's process now, as the target reports it."""

    name: str
    role: str
    version: str
    running: bool
    state: str
    pid: int | None


@dataclass(frozen=True)
class CommandRun:
    """A command's outcome: its exit status (None: it never answered) and its output's tail."""

    exit_status: int | None
    output: str


class Target(Protocol):
    name: str

    def ensure_up(self) -> None:
        """Start whatever the target needs (a supervisord) if it is not running."""

    def instances(self) -> list[InstanceState]:
        """Every slot that has an instance defined, running or not."""

    def start(self, spec: InstanceSpec) -> None:
        """Run ``spec`` in its slot, replacing another version there; wait until it runs."""

    def stop(self, slot: str) -> None:
        """Stop the slot's instance gracefully (SIGTERM, then wait) and forget it."""

    def down(self) -> None:
        """Stop every instance and the target's own processes."""


@runtime_checkable
class FleetTarget(Target, Protocol):
    """A target of several hosts (SSH): one host may fail without the others."""

    #: hosts found unreachable by ``instances``, and why: their slots are unknown
    unreachable: Mapping[str, str]

    def probe(self, host: str) -> str | None:
        """None if the host answers; else why not."""

    def exclude(self, host: str, reason: str) -> None:
        """Leave the host out of the rest of the run."""


@runtime_checkable
class RoleTarget(Protocol):
    """Where the processes of roles without traffic run (``spec/roles.py``): workers, beat.

    Idempotent like ``Target``: ``start_process`` of a process already running that version
    does nothing, ``stop_process`` of a stopped one does nothing. ``stop_process`` returns
    only once the process is gone (its warm shutdown done, or killed after its timeout): a
    singleton's successor is started only after that.
    """

    def processes(self) -> list[ProcessState]:
        """Every role process defined, running or not."""

    def start_process(self, spec: RoleProcess) -> None:
        """Run ``spec`` under its name, replacing another version there; wait until it runs."""

    def stop_process(self, name: str) -> None:
        """SIGTERM, wait up to its stop timeout (then SIGKILL), and forget it."""

    def run_beside(
        self, name: str, argv: Sequence[str], *, directory: Path, env: Mapping[str, str],
        timeout_s: float,
    ) -> CommandRun:  # fmt: skip
        """Run ``argv`` where the process ``name`` runs (its host, in ``directory``), with
        ``env`` added — it may hold the role's secrets, so never on a command line. A role's
        check is this: exit 0 passes."""


@runtime_checkable
class Fencing(Protocol):
    """A target whose hosts record the lease's fencing token (a fleet: ``ssh/fence.py``)."""

    def fence(self, token: int | None) -> None:
        """From now on, check each host against ``token`` before its next command (and
        record it there); None stops checking."""
