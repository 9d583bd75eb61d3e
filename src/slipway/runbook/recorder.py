"""Records, with each deployment, what the runbook needs to know about it later.

The spec digest ("deployed with today's runbook?"), who started it, the
commit and the changes (the seeds' announcement tables carry them), and the
pre-flight run that let it through. An observer, so the engine itself stays
unaware of the runbook: it is told when a deployment starts, as it is told
when a step moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from slipway.observe import NullObserver
from slipway.spec.digest import spec_digest
from slipway.spec.environment import Environment
from slipway.store import Deployment, StepRecord, Store
from slipway.store.records import Records


class RunbookRecorder(NullObserver):
    """Observer that notes each deployment it sees start (once: resume keeps the first note).

    What to note comes from ``expect``, called by the deployer just before it starts the
    engine: the request (who, commit, changes, a window override) and the check run.
    """

    def __init__(self, env: Environment, store: Store) -> None:
        self._records = Records(store)
        self._digest = spec_digest(env)
        self._who: str | None = None
        self._commit: str | None = None
        self._commit_at: str | None = None
        self._changes: list[str] = []
        self._check_run: int | None = None
        self._override: str | None = None
        self._seen: set[str] = set()

    def expect(self, request: Requested, *, check_run: int | None = None) -> None:
        """The next deployment to start is this request's, let through by ``check_run``."""
        self._who = request.who
        self._commit = request.commit
        self._commit_at = request.commit_at
        self._changes = list(request.changes)
        self._override = request.override_window
        self._check_run = check_run

    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        if deployment.id in self._seen:
            return
        self._seen.add(deployment.id)
        self._records.note_deployment(
            deployment.id,
            spec_digest=self._digest,
            who=self._who,
            commit_id=self._commit,
            commit_at=self._commit_at,
            changes=self._changes,
        )
        if self._check_run is not None:
            self._records.link_check_run(self._check_run, deployment.id)
            self._check_run = None  # a drill's rollback was let through by nothing new
        if self._override is not None:
            self._records.store.event(
                deployment.id,
                f"deploy window overridden by {self._who}: {self._override}",
                level="warning",
            )
            self._override = None


class Requested(Protocol):
    """What the recorder reads of a request (``slipway.deployment.Request``)."""

    @property
    def who(self) -> str: ...
    @property
    def override_window(self) -> str | None: ...
    @property
    def commit(self) -> str | None: ...
    @property
    def commit_at(self) -> str | None: ...
    @property
    def changes(self) -> Sequence[str]: ...
