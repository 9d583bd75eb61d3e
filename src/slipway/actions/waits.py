"""The steps that wait: pauses, gates, analyses, the blue-green hold, and the watch after
promotion with the baseline it compares with.

Each waits in small slices (``POLL_S``), and in each slice listens for
signals (``Waiter``) and, where a background analysis watches the canary, runs
it when due. Deadlines count from the step's first start as recorded in the
store, so a step resumed after its runner died waits only what was left.

An analysis verdict of *abort* raises ``AnalysisFailed`` (the engine rolls
back: traffic to the baseline first); *inconclusive* hands the decision to a
person — the step then waits for ``slipway promote`` (go on) or ``slipway
abort`` — instead of guessing.

The watch after promotion (``post_promotion``) is an analysis for a duration whose baseline is
what the previous release measured before the deploy: ``record_baseline`` measured it (for
``baseline_s``, before anything moved) and recorded it as its result; PromQL is asked about
that moment. An inconclusive run there is recorded and the watch goes on (nobody is asked:
the release is already out); ``slipway promote`` ends the watch early.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slipway.actions.context import StepContext
from slipway.actions.providers import ProviderSource
from slipway.actions.questions import question
from slipway.actions.signals import POLL_S, Waiter, said
from slipway.analysis import Analysis, Provider, RunResult, Side, Window
from slipway.analysis.haproxy_log import RequestLog
from slipway.analysis.recorded import sample_to_json
from slipway.clock import utc_iso
from slipway.errors import AnalysisFailed, GateRejected, NoGoError, PermanentError
from slipway.observe import Observer
from slipway.spec.analysis import AnalysisSpec
from slipway.steps import (
    Analyse,
    Compared,
    Gate,
    Hold,
    Pause,
    PostPromotion,
    RecordBaseline,
    Watched,
)
from slipway.store import Signal
from slipway.store.records import Records

Result = dict[str, Any]
COUNTED = "counted: "  # the outcome of an approval that is not yet the quorum


#: gates a person may decline without failing the deployment: no is an answer
OPTIONAL_GATES = ("confirm_restore", "confirm_migrate_back")


class Waits:
    def __init__(
        self,
        context: StepContext,
        *,
        waiter: Waiter,
        observer: Observer,
        request_log: RequestLog | None = None,
    ) -> None:
        self._env = context.env
        self._b = context.backends
        self._store = context.store
        self._clock = context.clock
        self._deployment_id = context.deployment_id
        self._waiter = waiter
        self._observer = observer
        self._providers = ProviderSource(context.env, context.backends, lent_log=request_log)
        self._background: Analysis | None = None

    def close(self) -> None:
        self._providers.close()

    # the steps

    def pause(self, params: Pause, started: datetime) -> Result:
        deadline = started + timedelta(seconds=float(params.duration_s))
        watch = self._watch(params)
        while self._clock.now() < deadline:
            signal = self._waiter.check(accept=("promote",))
            if signal is not None:
                self._waiter.handled(signal, "pause ended")
                self._event(f"promoted by {said(signal)}: pause ended early")
                return {"ended": "promoted", "by": signal.actor}
            if watch is not None and watch.due():
                self._judge(watch, params)
            self._clock.sleep(POLL_S)
        return {"ended": "elapsed"}

    def gate(self, params: Gate, started: datetime) -> Result:
        timeout = params.timeout_s
        deadline = started + timedelta(seconds=float(timeout)) if timeout else None
        watch = self._watch(params)
        ask = question(params, self._deployment_id)
        self._event(ask, level="warning")
        dep = self._store.deployment(self._deployment_id)
        self._observer.waiting(dep, gate=params.gate, reason=ask)
        tally = self._approvals_so_far(started)
        while True:
            signal = self._waiter.check(accept=("promote", "approve", "reject"))
            if signal is not None:
                decided = self._decide(params, signal, tally)
                if decided is not None:
                    return decided
            if watch is not None and watch.due():
                self._judge(watch, params, person_waits=True)
            if deadline is not None and self._clock.now() >= deadline:
                return self._expired(params)
            self._clock.sleep(POLL_S)

    def _decide(self, params: Gate, signal: Signal, tally: list[str]) -> Result | None:
        """What a person's signal means at this gate: a decision, or None (refused, or an
        approval counted towards the quorum: wait on). ``tally``: who approved so far."""
        gate = params.gate
        go_no_go, optional = gate == "go_no_go", gate in OPTIONAL_GATES
        if go_no_go and signal.kind == "promote":
            self._waiter.handled(
                signal, "refused: a Go/No-Go takes `slipway approve` or `slipway reject`"
            )
            return None
        refusal = self._refusal(params, signal)
        if refusal is not None:
            self._waiter.handled(signal, f"refused: {refusal}")
            self._event(f"{signal.actor} may not decide here: {refusal}", level="warning")
            return None
        decision = {"by": signal.actor, "at": signal.created_at, "comment": signal.comment}
        if signal.kind == "reject":
            if optional:  # no is an answer, not a failure
                self._waiter.handled(signal, "declined")
                self._event(f"{gate} declined by {said(signal)}")
                return {"decision": "rejected", **decision}
            if go_no_go:
                self._waiter.handled(signal, "No-Go: nothing more is done")
                raise NoGoError(f"No-Go from {said(signal)}")
            self._waiter.handled(signal, "rejected: rolling back")
            raise GateRejected(f"{gate} rejected by {said(signal)}")
        if signal.actor in tally:
            self._waiter.handled(signal, f"already counted: {len(tally)} of {params.quorum}")
            return None
        tally.append(signal.actor)
        if len(tally) < params.quorum:
            counted = f"approval {len(tally)} of {params.quorum}"
            self._waiter.handled(signal, f"{COUNTED}{counted}")
            self._event(f"{'Go' if go_no_go else gate} from {said(signal)}: {counted}")
            return None
        self._waiter.handled(signal, "approved")
        self._event(f"{'Go' if go_no_go else gate} from {said(signal)}")
        return {"decision": "approved", **decision, "approvals": list(tally)}

    def _refusal(self, params: Gate, signal: Signal) -> str | None:
        """Why ``signal``'s sender may not decide at this gate (None: they may)."""
        approvers = list(params.approvers)
        if approvers and signal.actor not in approvers:
            return f"not one of {', '.join(approvers)}"
        if params.distinct_from_deployer and signal.kind != "reject":
            deployer = self._deployer()
            if deployer is not None and signal.actor == deployer:
                return f"{deployer} started this deployment; another person must say Go"
        return None

    def _deployer(self) -> str | None:
        """Who started this deployment, as recorded with it."""
        note = Records(self._store).deployment_note(self._deployment_id)
        if note is not None and note.who:
            return note.who
        lock = self._store.lock(self._env.app, self._env.name)
        return lock.who if lock is not None and lock.deployment_id == self._deployment_id else None

    def _approvals_so_far(self, started: datetime) -> list[str]:
        """Who approved at this gate before a resume (their signals are handled already)."""
        since = utc_iso(started)
        return [
            s.actor
            for s in self._store.signals(self._deployment_id)
            if s.kind in ("approve", "promote")
            and (s.outcome or "").startswith(COUNTED)
            and s.created_at >= since
        ]

    def _expired(self, params: Gate) -> Result:
        timeout = params.timeout_s or 0.0
        if params.gate in OPTIONAL_GATES:
            self._event(f"nobody answered {params.gate} within {timeout:g}s: not done")
            return {"decision": "expired"}
        if params.gate == "go_no_go":
            raise NoGoError(f"nobody said Go within {timeout:g}s: No-Go")
        raise GateRejected(f"nobody decided within {timeout:g}s: rejected")

    def hold(self, params: Hold, started: datetime) -> Result:
        deadline = started + timedelta(seconds=float(params.duration_s))
        while self._clock.now() < deadline:
            signal = self._waiter.check(accept=("promote",))
            if signal is not None:
                self._waiter.handled(signal, "scale-down delay skipped")
                return {"ended": "promoted", "by": signal.actor}
            self._clock.sleep(POLL_S)
        return {"ended": "elapsed"}

    def analysis(self, params: Analyse, started: datetime) -> Result:
        spec = AnalysisSpec.model_validate(params.spec)
        analysis = self._new_analysis(spec, params, name=str(params.name))
        runs = spec.count or 3
        while analysis.run_no < runs:
            signal = self._waiter.check(accept=("promote",))
            if signal is not None:
                self._waiter.handled(signal, "analysis skipped")
                self._event(f"promoted by {said(signal)}: analysis skipped")
                return {"ended": "promoted", "runs": analysis.run_no}
            if analysis.due():
                self._judge(analysis, params)
            self._clock.sleep(POLL_S)
        return {"ended": "passed", "runs": analysis.run_no}

    def record_baseline(self, params: RecordBaseline, started: datetime) -> Result:
        """Measure the live release for ``duration_s`` (again in full after a resume: nothing
        has moved yet) and record its samples, for the watch after promotion."""
        spec = AnalysisSpec.model_validate(params.watch)
        side = _side(params.baseline)
        providers = self._providers.providers(spec)  # the request log listens from here
        begin = self._clock.monotonic()
        while self._clock.monotonic() < begin + float(params.duration_s):
            self._waiter.check()  # an abort is heard meanwhile
            self._clock.sleep(POLL_S)
        window = Window(begin, self._clock.monotonic())
        samples = {
            m.name: sample_to_json(providers[m.provider].measure(m, side, window))
            for m in spec.metrics
            if self._providers.recorded(m.provider)
        }
        counts = ", ".join(f"{name}: {s['requests']} requests" for name, s in samples.items())
        self._event(f"baseline of {side.version} recorded ({counts or 'PromQL only'})")
        return {"recorded_at": self._store.now(), "samples": samples}

    def post_promotion(self, params: PostPromotion, started: datetime) -> Result:
        deadline = started + timedelta(seconds=float(params.duration_s))
        spec = AnalysisSpec.model_validate(params.watch)
        recorded = self._recorded_baseline()
        past = self._providers.past(
            spec, samples=recorded["samples"], recorded_at=str(recorded["recorded_at"])
        )
        watch = self._new_analysis(spec, params, name="post-promotion", baseline_providers=past)
        while self._clock.now() < deadline:
            signal = self._waiter.check(accept=("promote",))
            if signal is not None:
                self._waiter.handled(signal, "watch after promotion ended")
                self._event(f"promoted by {said(signal)}: watch after promotion ended early")
                return {"ended": "promoted", "by": signal.actor, "runs": watch.run_no}
            if watch.due():
                self._judge(watch, params, person_waits=True)
            self._clock.sleep(POLL_S)
        self._event(f"watch after promotion passed: {watch.run_no} runs")
        return {"ended": "elapsed", "runs": watch.run_no}

    def _recorded_baseline(self) -> dict[str, Any]:
        for record in self._store.steps(self._deployment_id):
            if record.kind == "record_baseline" and record.state == "succeeded" and record.result:
                return dict(record.result)
        raise PermanentError("no baseline was recorded before the deploy: nothing to watch against")

    # analysis

    def _watch(self, params: Watched) -> Analysis | None:
        """The background analysis of this deployment, made at its first pause."""
        if not params.watch:
            return None
        if self._background is None:
            spec = AnalysisSpec.model_validate(params.watch)
            self._background = self._new_analysis(spec, params, name="background")
        return self._background

    def _new_analysis(
        self,
        spec: AnalysisSpec,
        params: Watched,
        *,
        name: str,
        baseline_providers: dict[str, Provider] | None = None,
    ) -> Analysis:
        canary = _side(params.canary)
        baseline = _side(params.baseline) if params.baseline else None
        done = [r for r in self._store.analysis_runs(self._deployment_id) if r.analysis == name]
        return Analysis(
            spec,
            name=name,
            canary=canary,
            baseline=baseline,
            providers=self._providers.providers(spec),
            clock=self._clock,
            instance_problems=self._problems_of(canary),
            first_run_no=len(done) + 1,
            baseline_providers=baseline_providers,
        )

    def _problems_of(self, canary: Side) -> Callable[[], list[str]]:
        first_pid: dict[str, int | None] = {}

        def problems() -> list[str]:
            found = []
            instances = {i.slot: i for i in self._b.target.instances()}
            servers = {s.slot: s for s in self._b.router.servers()}
            for slot in canary.slots:
                inst = instances.get(slot)
                if inst is None or not inst.running:
                    state = inst.state if inst else "gone"
                    found.append(f"{slot}: {canary.version} is not running ({state})")
                    continue
                if first_pid.setdefault(slot, inst.pid) != inst.pid:
                    found.append(f"{slot}: {canary.version} restarted (pid {inst.pid})")
                server = servers.get(slot)
                if server is not None and server.operational.startswith("DOWN"):
                    found.append(f"{slot}: the router's health checks mark it DOWN")
            return found

        return problems

    def _judge(
        self, analysis: Analysis, params: Watched, *, person_waits: bool = False
    ) -> RunResult:
        result = analysis.run()
        name = analysis.name
        weight = params.weight
        self._store.record_analysis(
            self._deployment_id,
            analysis=name,
            run_no=result.run_no,
            canary_version=analysis.canary.version,
            baseline_version=analysis.baseline.version if analysis.baseline else None,
            weight=int(weight) if weight is not None else None,
            verdict=result.verdict,
            summary=f"{result.status}: {result.summary}",
            measurements=result.measurements,
        )
        line = f"analysis {name} run {result.run_no}: {result.status} — {result.summary}"
        if result.verdict == "abort":
            self._event(line, level="error")
            raise AnalysisFailed(f"analysis {name} run {result.run_no}: {result.summary}")
        if result.status == "pass":
            self._observer.message(line, "info")
        else:
            self._event(line, level="warning")
        if result.verdict == "inconclusive" and not person_waits:
            self._await_person(f"analysis {name} is inconclusive")
            analysis.acknowledge()
        return result

    def _await_person(self, why: str) -> None:
        self._event(
            f"{why}: waiting for `slipway promote {self._deployment_id}` to go on or "
            f"`slipway abort {self._deployment_id}` to roll back",
            level="warning",
        )
        while True:
            signal = self._waiter.check(accept=("promote",))
            if signal is not None:
                self._waiter.handled(signal, f"went on after: {why}")
                self._event(f"promoted by {said(signal)} after: {why}")
                return
            self._clock.sleep(POLL_S)

    def _event(self, message: str, *, level: str = "info") -> None:
        self._store.event(self._deployment_id, message, level=level)
        self._observer.message(message, level)


def _side(compared: Compared | None) -> Side:
    if compared is None:  # the strategies always say what a wait compares: a guard
        raise PermanentError("this wait compares no release (its step names no canary)")
    return Side(
        version=compared.version,
        slots=tuple(compared.slots),
        flag=compared.flag,
        variant=compared.variant,
    )
