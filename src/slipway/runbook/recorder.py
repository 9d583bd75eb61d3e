"""Records, with each deployment, what the runbook needs to know about it later.

The spec digest ("deployed with today's runbook?"), who started it, the
commit and the changes (the seeds' announcement tables carry them), and the
pre-flight run that let it through. An observer, so the engine itself stays
unaware of the runbook: it is told when a deployment starts, as it is told
when a step moves.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.observe import NullObserver
from slipway.spec.digest import spec_digest
from slipway.spec.model import Environment
from slipway.store import Deployment, StepRecord, Store
from slipway.store.records import Records


class RunbookRecorder(NullObserver):
    """Observer that notes each deployment it sees start (once: resume keeps the first note)."""

    def __init__(
        self,
        env: Environment,
        store: Store,
        *,
        who: str,
        commit_id: str | None = None,
        changes: Sequence[str] = (),
        check_run: int | None = None,
        window_override: str | None = None,
    ) -> None:
        self._records = Records(store)
        self._digest = spec_digest(env)
        self._who = who
        self._commit = commit_id
        self._changes = list(changes)
        self._check_run = check_run
        self._override = window_override
        self._seen: set[str] = set()

    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        if deployment.id in self._seen:
            return
        self._seen.add(deployment.id)
        self._records.note_deployment(
            deployment.id,
            spec_digest=self._digest,
            who=self._who,
            commit_id=self._commit,
            changes=self._changes,
        )
        if self._check_run is not None:
            self._records.link_check_run(self._check_run, deployment.id)
        if self._override is not None:
            self._records.store.event(
                deployment.id,
                f"deploy window overridden by {self._who}: {self._override}",
                level="warning",
            )
