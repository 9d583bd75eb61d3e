"""Running persisted steps: group by group, each step's attempts written before they happen.

A step is marked ``running`` (with its attempt count) before its action starts, ``succeeded``
only after it returned, ``failed`` with the error (and a check's evidence) when it gave up. A
``TemporaryError`` or ``BackendError`` is tried again after its own ``delay_s``, up to
``MAX_ATTEMPTS``; anything else fails the step at once — the engine then decides what follows.

Steps of one group run in parallel on one thread pool for the whole run (a hundred hosts'
steps would otherwise start a hundred threads per group). On a fleet, a failed host's later
steps are skipped, and its failure is absorbed when the host-failure policy allows.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from slipway.actions.instances import Actions
from slipway.actions.signals import Waiter
from slipway.clock import Clock
from slipway.engine.hosts import HostPolicy
from slipway.engine.lease import iter_groups
from slipway.errors import (
    BackendError,
    CheckFailed,
    Interrupted,
    LeaseLost,
    PermanentError,
    SlipwayError,
    StoreError,
    TemporaryError,
)
from slipway.observe import Observer
from slipway.steps import Step
from slipway.store import StepRecord, Store

MAX_ATTEMPTS = 3
EventSink = Callable[..., None]  # (deployment id, message, *, level=…) → recorded and shown


class Execution:
    """Runs the steps of one deployment's phase against its actions."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        observer: Observer,
        stop: threading.Event,
        hosts: HostPolicy | None,
        event: EventSink,
        parallel: int,
        before_group: Callable[[], None] = lambda: None,
        before_step: Callable[[], None] = lambda: None,
    ) -> None:
        """``before_group`` and ``before_step`` raise to stop the run before it changes
        anything more (a lost lease)."""
        self._before_group = before_group
        self._before_step = before_step
        self._store = store
        self._clock = clock
        self._observer = observer
        self._stop = stop
        self._hosts = hosts
        self._event = event
        self._parallel = max(1, parallel)

    def run(
        self, actions: Actions, records: Sequence[StepRecord], *, waiter: Waiter, listen: bool
    ) -> None:
        """Run ``records`` group by group; ``listen`` to signals between groups (not while
        rolling back: a rollback is not itself aborted)."""
        workers = ThreadPoolExecutor(max_workers=self._parallel)
        try:
            for group in iter_groups(records):
                todo = [r for r in group if r.state != "succeeded"]
                if self._hosts is not None:
                    todo = self._skip_failed_hosts(todo)
                if not todo:  # done before the runner died
                    continue
                if listen:
                    waiter.check()
                elif self._stop.is_set():
                    raise Interrupted("stopped on request")
                self._before_group()
                self._run_group(workers, actions, todo)
        finally:
            workers.shutdown(wait=True)
            actions.close()

    def _run_group(
        self, workers: ThreadPoolExecutor, actions: Actions, todo: list[StepRecord]
    ) -> None:
        if len(todo) == 1:
            try:
                self.run_step(actions, todo[0])
            except SlipwayError as exc:
                self._raise_unless_tolerated([(todo[0], exc)])
            return
        futures = [workers.submit(self.run_step, actions, r) for r in todo]
        errors = [f.exception() for f in futures]
        failures = [(r, e) for r, e in zip(todo, errors, strict=True) if e is not None]
        if failures:
            self._raise_unless_tolerated(failures)

    def _skip_failed_hosts(self, todo: list[StepRecord]) -> list[StepRecord]:
        """Steps of a host that failed earlier in this run are skipped, not run."""
        assert self._hosts is not None
        kept = []
        for record in todo:
            reason = self._hosts.skip_reason(record)
            if reason is None:
                kept.append(record)
                continue
            self._store.set_step(record.id, state="skipped", error=reason)
            self._observer.step(record.seq, record.description, "skipped", reason)
        return kept

    def _raise_unless_tolerated(self, failures: list[tuple[StepRecord, BaseException]]) -> None:
        """A fleet's host failures may be tolerated (``hosts.absorb``); anything else raises."""
        remaining = [e for _, e in failures]
        for error in remaining:  # never a host's failure: the runner itself must stop
            if isinstance(error, LeaseLost | StoreError):
                raise error
        if self._hosts is not None:
            before = set(self._hosts.failed)
            remaining = self._hosts.absorb(failures)
            for host in sorted(set(self._hosts.failed) - before):
                self._event(
                    failures[0][0].deployment_id,
                    f"host {host} failed: {self._hosts.failed[host]}"
                    + ("" if remaining else "; the rollout goes on without it"),
                    level="error",
                )
        if remaining:
            raise remaining[0]

    def run_step(self, actions: Actions, record: StepRecord) -> None:
        attempts = record.attempts
        # A step's clock (a pause, a hold) runs from its first start, across resumes.
        first_start = record.started_at or self._store.now()
        started = datetime.fromisoformat(first_start.replace("Z", "+00:00"))
        while True:
            attempts += 1
            self._before_step()
            self._store.set_step(
                record.id, state="running", attempts=attempts, started_at=first_start
            )
            self._observer.step(record.seq, record.description, "running", None)
            try:
                result = actions.run(record.kind, record.params, started=started)
            except (LeaseLost, StoreError):
                raise  # recorded by nobody: this runner may write nothing more
            except (TemporaryError, BackendError) as exc:
                if attempts < MAX_ATTEMPTS and not self._stop.is_set():
                    self._event(record.deployment_id, f"{record.description}: {exc}; retrying")
                    self._clock.sleep(exc.delay_s)
                    continue
                self._failed(record, exc)
                raise PermanentError(f"{record.description}: {exc}") from exc
            except SlipwayError as exc:
                self._failed(record, exc)
                raise
            except Exception as exc:  # a bug or an untranslated library error: record it
                self._failed(record, exc)
                raise PermanentError(f"{record.description}: {exc!r}") from exc
            self._succeeded(record, result)
            return

    def _succeeded(self, record: StepRecord, result: dict[str, Any]) -> None:
        self._store.set_step(
            record.id,
            state="succeeded",
            ended_at=self._store.now(),
            result=json.dumps(result, sort_keys=True, default=str) if result else None,
        )
        self._observer.step(record.seq, record.description, "succeeded", None)

    def _failed(self, record: StepRecord, exc: BaseException) -> None:
        message = str(exc)
        evidence = exc.evidence if isinstance(exc, CheckFailed) else ""
        self._store.set_step(
            record.id,
            state="failed",
            error=f"{message}\n{evidence}".strip(),
            ended_at=self._store.now(),
        )
        self._observer.step(record.seq, record.description, "failed", message)


def persist(
    store: Store, deployment_id: str, steps: Sequence[Step], *, phase: str, first_seq: int
) -> None:
    """Write a phase's steps, all ``pending``, before any of them runs."""
    store.add_steps(
        deployment_id,
        [
            {
                "seq": first_seq + i,
                "phase": phase,
                "group_no": step.group,
                "kind": step.kind,
                "params": step.params.as_dict(),
                "description": step.description,
            }
            for i, step in enumerate(steps)
        ],
    )
