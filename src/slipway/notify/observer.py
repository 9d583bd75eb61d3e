"""The engine's news, turned into notifications.

An observer of the engine (like the live view): it announces a deployment
when it starts, and its outcome when it ends — succeeded, rolled back (with
the reason and the measured rollback time) or failed (with the escalation
contacts). ``waiting_for_approval`` is for gates, which call it when they
start waiting for a person. Everything it does is queued: the engine never
waits on a webhook, except for a bounded flush once the deployment is over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slipway.clock import Clock
from slipway.notify.messages import build_message
from slipway.notify.sender import Notifier
from slipway.spec.environment import Environment
from slipway.spec.notify import NotifyEvent
from slipway.store import Deployment, StepRecord, Store
from slipway.store.records import Records

FLUSH_S = 60.0
OUTCOMES: dict[str, NotifyEvent] = {
    "succeeded": "succeeded",
    "rolled_back": "rolled_back",
    "aborted": "rolled_back",
    "failed": "failed",
}


class NotifyingObserver:
    def __init__(
        self,
        env: Environment,
        store: Store,
        notifier: Notifier,
        *,
        clock: Clock,
        flush_s: float = FLUSH_S,
    ) -> None:
        self._env = env
        self._records = Records(store)
        self._notifier = notifier
        self._clock = clock
        self._flush_s = flush_s
        self._announced: set[str] = set()

    def started(self, deployment: Deployment, steps: Sequence[StepRecord]) -> None:
        if deployment.id in self._announced:  # the rollback plan of the same deployment
            return
        self._announced.add(deployment.id)
        self._send("started", deployment)

    def step(self, seq: int, description: str, state: str, error: str | None) -> None:
        pass

    def message(self, text: str, level: str) -> None:
        pass

    def finished(self, deployment: Deployment) -> None:
        event = OUTCOMES.get(deployment.status)
        if deployment.kind == "rollback" and event == "succeeded":
            event = "rolled_back"  # `slipway rollback` put the previous release back
        if event is not None:
            self._send(event, deployment)
        self._notifier.flush(self._flush_s)

    def waiting(self, deployment: Deployment, *, gate: str, reason: str) -> None:
        self.waiting_for_approval(deployment, gate=gate, reason=reason)

    def waiting_for_approval(
        self, deployment: Deployment, *, gate: str, reason: str | None = None
    ) -> None:
        """A gate waits for a person: tell them what to answer, and where."""
        self._send("waiting_for_approval", deployment, gate=gate, reason=reason)

    def _send(
        self,
        event: NotifyEvent,
        deployment: Deployment,
        *,
        gate: str | None = None,
        reason: str | None = None,
    ) -> None:
        note = self._records.deployment_note(deployment.id)
        message = build_message(
            event,
            app=deployment.app,
            environment=deployment.environment,
            deployment_id=deployment.id,
            version=deployment.version,
            at=self._clock.now(),
            who=note.who if note else None,
            commit_id=note.commit_id if note else None,
            previous_version=deployment.previous_version,
            changes=note.changes if note else (),
            reason=reason or deployment.reason,
            duration_s=_seconds(deployment.started_at, deployment.ended_at),
            rollback_s=deployment.rollback_s,
            gate=gate,
            contacts=self._env.contacts,
        )
        self._notifier.send(message)


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
