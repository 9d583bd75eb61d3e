"""The one entry point: a deployment as the runbook runs it, whoever asks for it.

``slipway deploy``, ``drill``, ``rollback``, ``resume``, a Python user and the HTTP API all call
``Deployer``; none of them assembles a deployment of its own. For a deploy, in order:

1. the release's version and source are checked (a usage error, exit 2, comes before any No-Go);
2. the environment's lock is taken — *before* the pre-flight, so a second runner refused by the
   lock runs none of the checklist's commands;
3. the pre-flight (deploy window first, then the spec's checks) runs and is recorded; a No-Go
   raises ``PreflightNoGo`` (exit 4) with the verdict, and nothing was touched;
4. the engine plans and executes, rolling back by itself on failure;
5. the runbook's recorder notes who, the commit, the changes, the spec digest and the check run
   that let it through; the notifier announces the start and the outcome; the runbook document
   is rewritten when the deployment ends.

Steps 4 and 5 happen through the engine's observers, which this module attaches; a caller adds
its own observer (the CLI's live view) beside them and only prints what it is told.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from slipway.backends import Backends
from slipway.checks.preflight import GoNoGo
from slipway.checks.window import WindowOverride
from slipway.clock import Clock, SystemClock
from slipway.engine import Engine, Outcome, control, locking
from slipway.engine.locking import LockStatus, LockWait
from slipway.errors import LockedError, NoGoError, UsageError
from slipway.notify.observer import NotifyingObserver
from slipway.notify.sender import Notifier
from slipway.observe import NullObserver, Observer, Observers
from slipway.preflight import ReaderFor, default_reader, run_checks
from slipway.preview import Preview, preview
from slipway.release import check_version, commit_time
from slipway.router.base import MaintenanceRouter
from slipway.runbook.drill import DrillResult, run_drill
from slipway.runbook.recorder import RunbookRecorder
from slipway.runbook.refresh import DocumentRefresher
from slipway.spec.environment import Environment
from slipway.store import Lock, Store
from slipway.store.records import Records
from slipway.who import current_user, login, os_user_if_claimed

OnVerdict = Callable[[GoNoGo], None]


@dataclass(frozen=True)
class Request:
    """Who asks for a deployment, and what they say with it (all of it recorded)."""

    who: str = field(default_factory=current_user)
    #: deploy although the window is closed; the reason is recorded with the deployment
    override_window: str | None = None
    commit: str | None = None
    changes: Sequence[str] = ()
    #: the commit's time (ISO-8601 UTC); looked up in git from ``commit`` when not given
    commit_at: str | None = None


class PreflightNoGo(NoGoError):
    """The pre-flight said No-Go: nothing was touched. ``verdict`` has every row."""

    def __init__(self, version: str, verdict: GoNoGo) -> None:
        super().__init__(f"No-Go: {version} was not deployed; nothing was touched")
        self.verdict = verdict


class Deployer:
    """Deploys, rolls back, resumes and drills one environment the way its runbook says."""

    def __init__(
        self,
        env: Environment,
        *,
        store: Store,
        backends: Backends,
        clock: Clock | None = None,
        observer: Observer | None = None,
        environ: Mapping[str, str] | None = None,
        reader_for: ReaderFor = default_reader,
    ) -> None:
        """``observer`` watches beside the runbook's own observers (a live view, a test);
        ``environ`` is where the checks read variables (the process's environment by default);
        ``reader_for`` reads disk usage for the disk checks (each target's own by default)."""
        self.env = env
        self.store = store
        self.backends = backends
        self.clock = clock or SystemClock()
        self._environ = environ
        self._reader_for = reader_for
        self._recorder = RunbookRecorder(env, store)
        observers: list[Observer] = [observer or NullObserver(), self._recorder]
        if env.notifications:
            notifier = Notifier(
                env.notifications, clock=self.clock, records=Records(store), environ=environ
            )
            observers.append(NotifyingObserver(env, store, notifier, clock=self.clock))
        observers.append(DocumentRefresher(env, store))  # after the records it reads
        self.engine = Engine(
            env, store=store, backends=backends, clock=self.clock, observer=Observers(*observers)
        )

    def request_stop(self) -> None:
        """Stop after the steps in flight, then roll back (a signal, Ctrl-C)."""
        self.engine.request_stop()

    def check(self, *, version: str | None = None, request: Request | None = None) -> GoNoGo:
        """``slipway check``: run the pre-flight and record it; no lock, nothing deployed."""
        if version is not None:
            check_version(version)
        verdict, _ = self._preflight("check", version, request or Request())
        return verdict

    def plan(self, version: str, *, offline: bool = False) -> Preview:
        """``slipway plan``: what a deployment of ``version`` would do, changing nothing."""
        return preview(self.env, self.store, self.backends, version, offline=offline)

    def deploy(
        self,
        version: str,
        request: Request | None = None,
        *,
        on_verdict: OnVerdict | None = None,
        wait: LockWait | None = None,
    ) -> Outcome:
        """Lock, pre-flight, then the deployment; ``on_verdict`` hears the checklist first.
        ``wait``: queue for the lock instead of failing (``slipway deploy --lock-wait``)."""
        request = with_commit_time(request or Request(), self.env.root)
        self._check_release(version, request)
        dep_id = self.store.new_deployment_id()
        with self.engine.holding(dep_id, who=request.who, wait=wait, version=version):
            self._go_or_stop("deploy", version, request, on_verdict)
            return self.engine.deploy(version, deployment_id=dep_id)

    def drill(
        self, version: str, request: Request | None = None, *, on_verdict: OnVerdict | None = None
    ) -> DrillResult:
        """Deploy ``version`` then roll back to the current release, under one lock; timed."""
        request = request or Request()
        self._check_release(version, request)
        with self.engine.holding(self.store.new_deployment_id(), who=request.who):
            self._go_or_stop("drill", version, request, on_verdict)
            return run_drill(self.engine, version)

    def rollback(self, to: str | None = None, request: Request | None = None) -> Outcome:
        """Put back ``to`` (or the previous release); a running deployment is asked instead."""
        request = request or Request()
        self._recorder.expect(request)
        return self.engine.rollback(to, who=request.who)

    def resume(self, request: Request | None = None) -> Outcome:
        """Finish, or roll back as the spec says, the deployment whose runner died."""
        request = request or Request()
        self._recorder.expect(request)
        return self.engine.resume(who=request.who)

    def down(self, request: Request | None = None, *, force: bool = False) -> None:
        """Stop the instances, the router and supervisord, holding the lock: never while a
        deployment runs, unless ``force`` — which is recorded on that deployment."""
        request = request or Request()
        try:
            with self.engine.holding(self.store.new_deployment_id(), who=request.who):
                self._stop_everything()
            return
        except LockedError as exc:
            running = control.running_deployment(self.env, self.store)
            if not force or running is None:
                raise LockedError(
                    f"{exc}; `slipway down` would pull the instances from under it",
                    hint="wait for it, `slipway abort` it, or `slipway down --force`",
                ) from None
        self.store.event(
            running.id,
            f"`slipway down --force` by {request.who}: everything stopped while this ran",
            level="warning",
        )
        self._stop_everything()

    def maintenance(self, on: bool | None, request: Request | None = None) -> bool:
        """``slipway maintenance on|off``: the router's maintenance page, switched at runtime
        (None: only say whether it is on). Who switched it is recorded on the last deployment."""
        router = self.backends.router
        if not isinstance(router, MaintenanceRouter):
            raise UsageError(
                "this environment's router cannot serve a maintenance page",
                hint="HAProxy can: give it `router.maintenance` (a page, a bypass token)",
            )
        if on is not None:
            router.set_maintenance(on)
            last = self.store.deployments(self.env.app, self.env.name, limit=1)
            if last:
                who = (request or Request()).who
                word = "on" if on else "off"
                self.store.event(last[0].id, f"maintenance page {word}, by {who}", level="warning")
        return router.in_maintenance()

    # the lock, for people (`slipway lock …`)

    def lock_status(self) -> LockStatus:
        return locking.status(self.env, self.store)

    def hold_lock(self, request: Request | None = None, *, note: str | None = None) -> Lock:
        """Hold the environment by hand: no deployment starts until ``release_lock``."""
        who = (request or Request()).who
        return locking.acquire_by_hand(
            self.env, self.store, who=who, note=note, os_user=os_user_if_claimed()
        )

    def release_lock(
        self, request: Request | None = None, *, force: bool = False, reason: str | None = None
    ) -> Lock | None:
        """Release a lock held by hand; ``force``: whoever holds it (recorded: who and why)."""
        who = (request or Request()).who
        return locking.release(
            self.env, self.store, who=who, force=force, reason=reason, os_user=login()
        )

    def _stop_everything(self) -> None:
        self.backends.router.down()
        self.backends.target.down()

    def _check_release(self, version: str, request: Request) -> None:
        """Usage errors (exit 2) come before the lock and any No-Go."""
        check_version(version)
        self.backends.releases.check_source(version)
        _override(request)

    def _go_or_stop(
        self, purpose: str, version: str, request: Request, on_verdict: OnVerdict | None
    ) -> None:
        verdict, run_id = self._preflight(purpose, version, request)
        if on_verdict is not None:
            on_verdict(verdict)
        if not verdict.go:
            raise PreflightNoGo(version, verdict)
        self._recorder.expect(request, check_run=run_id)

    def _preflight(self, purpose: str, version: str | None, request: Request) -> tuple[GoNoGo, int]:
        override = _override(request)
        return run_checks(
            self.env,
            store=self.store,
            clock=self.clock,
            purpose=purpose,
            version=version,
            override=override,
            who=request.who,
            environ=self._environ,
            reader_for=self._reader_for,
        )


def with_commit_time(request: Request, root: Path) -> Request:
    """``request`` with its commit's time from git (in ``root``), when it names a commit that
    git knows there: DORA's lead time starts at it."""
    if request.commit is None or request.commit_at is not None:
        return request
    found = commit_time(root, request.commit)
    return replace(request, commit_at=found) if found else request


def _override(request: Request) -> WindowOverride | None:
    """The request's window override, checked (a reason too short is a usage error)."""
    if not request.override_window:
        return None
    return WindowOverride.create(request.override_window, request.who)
