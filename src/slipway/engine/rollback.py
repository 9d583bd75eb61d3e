"""Rolling back a deployment: traffic back to the previous release first, then instances.

The rollback plan is computed from the *live* placement, so it is right whatever point the
failed phase reached; a flag release is taken back by setting its flag to 0 (its code stays,
dark). Steps not run are marked skipped, the one in flight failed, and the deploy steps the
rollback undid compensated. After a rollback that followed a migration, a person is asked
whether to restore the backup (``engine/restore.py``).

A part of ``Engine`` (``engine/runner.py``), kept apart because it is the other half of a
deployment's life: the runner's bookkeeping methods it uses are declared here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from slipway.backends import Backends
from slipway.backends.placement import read_placement, read_processes
from slipway.clock import Clock
from slipway.engine.lease import stopped
from slipway.engine.outcome import Outcome
from slipway.engine.restore import restore_plan
from slipway.errors import LeaseLost, SlipwayError, StoreError
from slipway.observe import Observer
from slipway.plan import release_undo, rollback_plan
from slipway.spec.environment import Environment
from slipway.steps import Step
from slipway.store import Deployment, StepRecord, Store

UNCHANGED = ("prepare_release", "record_baseline")


class RollingBack:
    env: Environment
    store: Store
    backends: Backends
    clock: Clock
    observer: Observer
    _stop: threading.Event

    def _persist(self, dep_id: str, steps: Sequence[Step], *, phase: str, first_seq: int) -> None:
        raise NotImplementedError

    def _run_steps(self, dep: Deployment, records: Sequence[StepRecord], *, listen: bool) -> None:
        raise NotImplementedError

    def _event(self, dep_id: str, message: str, *, level: str = "info", **data: Any) -> None:
        raise NotImplementedError

    def _finish(self, dep_id: str) -> Outcome:
        raise NotImplementedError

    def _roll_back(self, dep: Deployment, *, reason: str, status: str) -> Outcome:
        """Traffic back to the previous release first, then instances; time it."""
        self._stop.clear()
        started = self.clock.monotonic()
        self.store.update_deployment(
            dep.id, status="rolling_back", reason=reason, rollback_started_at=self.store.now()
        )
        records = self._settle_steps(dep)
        target, steps, undo = self._rollback_steps(dep, records)
        self._persist(dep.id, steps, phase="rollback", first_seq=len(records))
        rollback_records = [r for r in self.store.steps(dep.id) if r.seq >= len(records)]
        self.observer.started(self.store.deployment(dep.id), self.store.steps(dep.id))
        try:
            self._run_steps(dep, rollback_records, listen=False)
        except (LeaseLost, StoreError) as exc:
            raise stopped(exc) from exc
        except SlipwayError as exc:
            self.store.update_deployment(
                dep.id,
                status="failed",
                reason=f"{reason}; then the rollback failed: {exc}",
                ended_at=self.store.now(),
            )
            self._event(dep.id, f"rollback failed: {exc}", level="error")
            return self._finish(dep.id)
        self._compensate(records, flag_only=undo)
        elapsed = self.clock.monotonic() - started
        final = status if target is not None else "failed"
        self.store.update_deployment(
            dep.id, status=final, rollback_s=round(elapsed, 3), ended_at=self.store.now()
        )
        if undo:
            self._event(dep.id, f"released to nobody in {elapsed:.2f}s; {target} runs, dark")
            return self._finish(dep.id)  # the code stays: no database to restore under it
        self._event(dep.id, f"rolled back to {target or 'nothing'} in {elapsed:.2f}s")
        self._offer_restore(dep)
        return self._finish(dep.id)

    def _settle_steps(self, dep: Deployment) -> list[StepRecord]:
        """Steps not run are skipped; one in flight when the deployment failed, failed."""
        records = self.store.steps(dep.id)
        for r in records:
            if r.state == "pending":
                self.store.set_step(r.id, state="skipped")
            elif r.state == "running":
                self.store.set_step(r.id, state="failed", error="interrupted")
        return records

    def _rollback_steps(
        self, dep: Deployment, records: Sequence[StepRecord]
    ) -> tuple[str | None, list[Step], bool]:
        """(the version it goes back to, the steps, whether it is a release's undo): the
        previous release from the live placement — or, for a flag, the flag back to 0."""
        target = dep.previous_version if dep.kind == "deploy" else None
        done = [(r.kind, r.state) for r in records if r.phase == "deploy"]
        undo = (
            release_undo(self.env, version=dep.version, done=done) if dep.kind == "deploy" else None
        )
        if undo is not None:  # a flag: its code stays, dark
            self._event(dep.id, f"taking back the release of {dep.version}; its code stays")
            return dep.version, undo, True
        self._event(dep.id, f"rolling back to {target or 'nothing (first release)'}")
        steps = rollback_plan(
            self.env,
            version=target,
            placement=read_placement(self.backends),
            prepare=False,
            processes=read_processes(self.backends),
        )
        return target, steps, False

    def _compensate(self, records: Sequence[StepRecord], *, flag_only: bool) -> None:
        """The deploy steps the rollback undid; a flag's undo takes back the flag, not the
        instances its rollout started. Steps that changed nothing live (a release prepared on
        disk, a baseline measured) stay succeeded: there was nothing to undo."""
        for r in records:
            if r.phase != "deploy" or r.state != "succeeded" or r.kind in UNCHANGED:
                continue
            if flag_only and r.kind not in ("set_flag", "verify_flag"):
                continue
            self.store.set_step(r.id, state="compensated")

    def _offer_restore(self, dep: Deployment) -> None:
        steps = restore_plan(self.env, self.store, dep)
        if not steps:
            return
        first = len(self.store.steps(dep.id))
        self._persist(dep.id, steps, phase="restore", first_seq=first)
        todo = [r for r in self.store.steps(dep.id) if r.seq >= first]
        final = self.store.deployment(dep.id)
        self.store.update_deployment(dep.id, status="rolling_back")  # the answer can reach it
        try:
            self._run_steps(dep, todo, listen=False)
        except SlipwayError as exc:
            self._event(dep.id, f"database not restored: {exc}", level="warning")
        self.store.update_deployment(dep.id, status=final.status, ended_at=self.store.now())
