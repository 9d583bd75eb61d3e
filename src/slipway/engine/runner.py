"""The engine: runs a plan durably, and rolls back by itself.

Every transition is written to the store *before* its effect: a step is
marked ``running`` (with its attempt count) before its action starts, and
``succeeded`` only after it returned. A runner killed at any moment therefore
leaves a record that tells the truth — at worst a step marked ``running``
whose action may or may not have happened — and, since every action is
idempotent, ``resume`` can simply run that step again.

Retry policy lives in the error types: a ``TemporaryError`` or a
``BackendError`` is retried a bounded number of times after a delay; any
other failure ends the deployment phase and, when the spec says
``on_failure: rollback``, starts the rollback plan, computed from the live
placement so that it is right whatever point the failed phase reached.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from slipway.actions.context import StepContext
from slipway.actions.instances import Actions
from slipway.actions.signals import Waiter
from slipway.actions.waits import Waits
from slipway.analysis.haproxy_log import RequestLog
from slipway.backends import Backends
from slipway.backends.placement import read_placement, read_processes
from slipway.clock import Clock, SystemClock
from slipway.engine import control, locking
from slipway.engine.execution import Execution, persist
from slipway.engine.hosts import host_policy
from slipway.engine.lease import Lease, stopped
from slipway.engine.locking import Claim, LockWait
from slipway.engine.outcome import Outcome
from slipway.engine.rollback import RollingBack
from slipway.errors import (
    Interrupted,
    LeaseLost,
    NoGoError,
    RollbackRequested,
    SlipwayError,
    StoreError,
    UsageError,
)
from slipway.observe import NullObserver, Observer
from slipway.plan import build_plan, rollback_plan
from slipway.spec.environment import Environment
from slipway.steps import Step
from slipway.store import Deployment, StepRecord, Store, this_runner
from slipway.who import login


class Engine(RollingBack):
    """Deploys, rolls back and resumes one environment."""

    def __init__(
        self,
        env: Environment,
        *,
        store: Store,
        backends: Backends,
        clock: Clock | None = None,
        observer: Observer | None = None,
        request_log: RequestLog | None = None,
    ) -> None:
        """``request_log``: a listener on HAProxy's request log that outlives this engine's
        deployments (a benchmark keeps every request); by default an analysis opens its own."""
        self.env = env
        self.request_log = request_log
        self.store = store
        self.backends = backends
        self.clock = clock or SystemClock()
        self.observer = observer or NullObserver()
        self._stop = threading.Event()
        self._base_store = store  # unfenced; ``self.store`` is fenced while the lock is held
        self._lease: Lease | None = None
        self.hosts = host_policy(env, backends.target)  # a fleet's host-failure policy

    def request_stop(self) -> None:
        """Ask the runner to stop after the steps in flight; it then rolls back."""
        self._stop.set()

    # entry points

    @contextmanager
    def holding(
        self,
        deployment_id: str,
        *,
        who: str | None = None,
        wait: LockWait | None = None,
        version: str | None = None,
    ) -> Iterator[None]:
        """Hold the environment's lock for ``deployment_id`` (renewed) while inside.

        Re-entrant: inside an outer hold, the lock is only relabelled (a drill's deploy, then
        its rollback). The pre-flight runs inside, so a refused runner runs nothing at all.
        While held, ``self.store`` is fenced with the lease's token (``store/leases.py``), and
        so are a fleet's hosts (``ssh/fence.py``). ``wait``: queue for it (``engine/locking``).
        """
        ttl_s = self.env.store.lease_ttl_s
        if self._lease is not None:
            holder = self._lease.fence.holder
            self._base_store.acquire_lock(self.env.app, self.env.name, deployment_id=deployment_id,
                                          ttl_s=ttl_s, holder=holder, who=who)  # fmt: skip
            yield
            return
        claim = Claim(deployment_id, ttl_s, who=who, os_user=login(), version=version)
        fence = locking.take(self.env, self._base_store, claim, wait=wait, clock=self.clock,
                             say=lambda text: self.observer.message(text, "info"))  # fmt: skip
        try:
            with Lease(self._base_store, fence, clock=self.clock, ttl_s=ttl_s) as lease:
                self._lease = lease
                self.store = self._base_store.fenced(fence)
                self.backends.fence(fence.token)
                yield
        finally:
            self.store = self._base_store
            self._lease = None
            self.backends.fence(None)

    def _before_step(self) -> None:
        """Before every step (each may change a target): the lease is still ours."""
        if self._lease is not None:
            self._lease.check()

    def _before_group(self) -> None:
        """Before every group: that, and each fleet host checks its token again."""
        self._before_step()
        if self._lease is not None:
            self.backends.fence(self._lease.fence.token)

    def deploy(self, version: str, *, deployment_id: str | None = None) -> Outcome:
        self.backends.releases.check_source(version)
        return self._start(
            kind="deploy", version=version, previous=self._current(), deployment_id=deployment_id
        )

    def rollback(self, to: str | None = None, *, who: str | None = None) -> Outcome:
        """Put back ``to``, or the release that was current before the current one.

        While a deployment runs (its blue-green hold, a canary's pause …), its runner is asked
        to roll back instead: it knows what it changed, and it holds the lock.
        """
        running = control.running_deployment(self.env, self.store)
        if running is not None and to in (None, running.previous_version):
            self.observer.message(
                f"asking the runner of {running.id} ({running.runner}) to roll back", "info"
            )
            dep = control.ask_rollback(self.env, self.store, running, clock=self.clock)
            return Outcome(dep, rollback_asked=True)
        if to is None:
            to = self._previous_release()
        self.backends.releases.check_source(to)
        return self._start(kind="rollback", version=to, previous=self._current(), who=who)

    def resume(self, *, who: str | None = None) -> Outcome:
        """Finish (or roll back, as the spec says) the deployment whose runner died."""
        active = [d for d in self.store.deployments(self.env.app, self.env.name) if d.active]
        if not active:
            raise UsageError(
                f"nothing to resume in {self.env.app}/{self.env.name}",
                hint="`slipway status` shows the last deployment",
            )
        dep = active[0]
        with self.holding(dep.id, who=who):
            self.store.update_deployment(dep.id, runner=this_runner())
            self._event(dep.id, f"resumed by {this_runner()} after its runner {dep.runner} stopped")
            records = self.store.steps(dep.id)
            self.observer.started(self.store.deployment(dep.id), records)
            if dep.status == "rolling_back" or self.env.on_interrupt == "rollback":
                reason = dep.reason or "runner died; rolled back on resume"
                return self._roll_back(dep, reason=reason, status="rolled_back")
            return self._run_deploy(dep, [r for r in records if r.phase == "deploy"])

    # the deployment lifecycle

    def _start(
        self,
        *,
        kind: str,
        version: str,
        previous: str | None,
        deployment_id: str | None = None,
        who: str | None = None,
    ) -> Outcome:
        dep_id = deployment_id or self.store.new_deployment_id()
        with self.holding(dep_id, who=who):
            self._settle_interrupted(kind, superseded_by=dep_id)
            placement = read_placement(self.backends)
            processes = read_processes(self.backends)
            if kind == "deploy":
                steps = build_plan(
                    self.env, version=version, placement=placement, processes=processes
                )
            else:
                steps = rollback_plan(
                    self.env,
                    version=version,
                    placement=placement,
                    prepare=True,
                    processes=processes,
                )
            dep = self.store.create_deployment(
                deployment_id=dep_id,
                app=self.env.app,
                environment=self.env.name,
                kind=kind,
                version=version,
                previous_version=previous,
                strategy=self.env.strategy.type if kind == "deploy" else "rollback",
            )
            self._persist(dep.id, steps, phase="deploy", first_seq=0)
            self.store.update_deployment(dep.id, status="running")
            self._event(dep.id, f"{kind} of {version} started (current: {previous or 'none'})")
            records = self.store.steps(dep.id)
            self.observer.started(self.store.deployment(dep.id), records)
            return self._run_deploy(self.store.deployment(dep.id), records)

    def _settle_interrupted(self, kind: str, *, superseded_by: str) -> None:
        """A deployment whose runner died must be resumed before a new one starts; a rollback
        may instead supersede it (it is computed from the live state, so it is safe)."""
        for dep in self.store.deployments(self.env.app, self.env.name, limit=5):
            if not dep.active:
                continue
            if kind != "rollback":
                raise NoGoError(
                    f"deployment {dep.id} ({dep.kind} {dep.version}) was interrupted: "
                    "run `slipway resume` to finish it, or `slipway rollback`"
                )
            self.store.update_deployment(
                dep.id,
                status="aborted",
                reason=f"interrupted; superseded by rollback {superseded_by}",
                ended_at=self.store.now(),
            )

    def _run_deploy(self, dep: Deployment, records: Sequence[StepRecord]) -> Outcome:
        try:
            self._run_steps(dep, records, listen=True)
        except (LeaseLost, StoreError) as exc:
            raise stopped(exc) from exc
        except Interrupted as exc:
            return self._fail(dep, str(exc), status="aborted")
        except RollbackRequested as exc:
            return self._fail(dep, str(exc), status="rolled_back")
        except NoGoError as exc:  # said before production was touched: nothing to roll back
            return self._no_go(dep, str(exc))
        except SlipwayError as exc:
            return self._fail(dep, str(exc), status="rolled_back")
        self.store.update_deployment(dep.id, status="succeeded", ended_at=self.store.now())
        self._event(dep.id, f"{dep.version} is live")
        return self._finish(dep.id)

    def _no_go(self, dep: Deployment, reason: str) -> Outcome:
        for r in self.store.steps(dep.id):
            if r.state == "pending":
                self.store.set_step(r.id, state="skipped")
        self.store.update_deployment(
            dep.id, status="no_go", reason=reason, ended_at=self.store.now()
        )
        self._event(dep.id, f"No-Go: {reason}", level="error")
        return self._finish(dep.id)

    def _fail(self, dep: Deployment, reason: str, *, status: str) -> Outcome:
        self._event(dep.id, f"failed: {reason}", level="error")
        if self.env.on_failure != "rollback":
            self.store.update_deployment(
                dep.id, status="failed", reason=reason, ended_at=self.store.now()
            )
            return self._finish(dep.id)
        return self._roll_back(self.store.deployment(dep.id), reason=reason, status=status)

    def _finish(self, dep_id: str) -> Outcome:
        dep = self.store.deployment(dep_id)
        Waiter(self.store, dep_id, should_stop=self._stop.is_set).close(
            f"not acted on: the deployment ended {dep.status}"
        )
        failed: list[str] = []
        if self.hosts is not None:
            hosts = self.hosts.summary(
                status=dep.status, version=dep.version, previous=dep.previous_version
            )
            failed = [h for h in hosts if h in self.hosts.failed]
            self._event(
                dep_id,
                f"hosts: {len(hosts) - len(failed)} of {len(hosts)} as planned"
                + (f"; failed: {', '.join(failed)}" if failed else ""),
                level="error" if failed else "info",
                hosts=hosts,
            )
        self.observer.finished(dep)
        return Outcome(dep, failed_hosts=tuple(failed))

    # running steps

    def _run_steps(self, dep: Deployment, records: Sequence[StepRecord], *, listen: bool) -> None:
        """Run ``records`` group by group; ``listen`` to signals between groups (not while
        rolling back: a rollback is not itself aborted)."""
        waiter = Waiter(self.store, dep.id, should_stop=self._stop.is_set)
        context = StepContext(self.env, self.backends, self.store, self.clock, dep.id)
        waits = Waits(context, waiter=waiter, observer=self.observer, request_log=self.request_log)
        actions = Actions(context, waits=waits)
        execution = Execution(
            store=self.store,
            clock=self.clock,
            observer=self.observer,
            stop=self._stop,
            hosts=self.hosts,
            event=self._event,
            parallel=self.backends.parallel,
            before_group=self._before_group,
            before_step=self._before_step,
        )
        execution.run(actions, records, waiter=waiter, listen=listen)

    # bookkeeping

    def _persist(self, dep_id: str, steps: Sequence[Step], *, phase: str, first_seq: int) -> None:
        persist(self.store, dep_id, steps, phase=phase, first_seq=first_seq)

    def _event(self, dep_id: str, message: str, *, level: str = "info", **data: Any) -> None:
        self.store.event(dep_id, message, level=level, **data)
        self.observer.message(message, level)

    def _current(self) -> str | None:
        """The release current where this run works: on a fleet, on most of its hosts (a
        ``--limit`` deployment may have left others on another)."""
        current = self.store.current(self.env.app, self.env.name)
        if current is None or self.env.fleet is None:
            return current.version if current else None
        return current.common(self.env.fleet.app_hosts)

    def _previous_release(self) -> str:
        current = self.store.current(self.env.app, self.env.name)
        if current is not None and self.env.fleet is not None and current.hosts:
            now = current.common(self.env.fleet.app_hosts) or current.version
            hosts = self.env.fleet.app_hosts
            found = self.store.previous_on(self.env.app, self.env.name, hosts, current=now)
        else:
            found = next(
                (
                    dep.version
                    for dep in self.store.deployments(self.env.app, self.env.name, limit=100)
                    if dep.status == "succeeded"
                    and (current is None or dep.version != current.version)
                ),
                None,
            )
        if found is not None:
            return found
        raise UsageError(
            "no earlier release to roll back to",
            hint="give one with --to VERSION (see `slipway history`)",
        )
