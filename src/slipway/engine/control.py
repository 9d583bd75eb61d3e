"""Talking to a deployment that runs elsewhere: find it, signal it, wait for what it did.

``slipway promote``, ``approve``, ``reject``, ``abort`` — and ``rollback`` while
a deployment runs — go through here. The runner may be another process or
another machine: the store is the only channel (``slipway.store.signals``).
A deployment whose runner is gone cannot hear anything; that is said plainly,
with the commands that can help (``resume``, ``rollback``).
"""

from __future__ import annotations

from slipway.clock import Clock
from slipway.errors import UsageError
from slipway.spec.environment import Environment
from slipway.store import Deployment, Signal, Store, runner_alive
from slipway.store.records import Records
from slipway.who import NAME_VARIABLE, current_user, machine, os_user_if_claimed


def actor() -> str:
    """Who is asking (a label on the command line: ``slipway.who``)."""
    return current_user()


def running_deployment(
    env: Environment, store: Store, *, deployment: str | None = None
) -> Deployment | None:
    """The deployment of ``env`` whose runner is alive (or the one named), if any."""
    if deployment is not None:
        dep = store.find_deployment(deployment)
        if dep is None or (dep.app, dep.environment) != (env.app, env.name):
            raise UsageError(
                f"no deployment {deployment!r} in {env.app}/{env.name}",
                hint="`slipway history` lists them",
            )
        return dep if dep.active and _runner_lives(store, dep) else None
    for dep in store.deployments(env.app, env.name, limit=5):
        if dep.active and _runner_lives(store, dep):
            return dep
    return None


def _runner_lives(store: Store, dep: Deployment) -> bool:
    lock = store.lock(dep.app, dep.environment)
    if lock is None or lock.deployment_id != dep.id:
        return False
    alive = runner_alive(lock.holder)
    if alive is not None:
        return alive
    return lock.expires_at > store.now()  # a runner on another host: trust its lease


def send(
    env: Environment,
    store: Store,
    kind: str,
    *,
    who: str,
    comment: str | None = None,
    deployment: str | None = None,
    token: str | None = None,
    address: str | None = None,
) -> tuple[Deployment, Signal]:
    """Append a ``kind`` signal for the running deployment (or the one named). ``who`` is a
    label on the command line; through the API it is the name of the ``token`` the request
    came with (authenticated), sent from ``address``."""
    dep = running_deployment(env, store, deployment=deployment)
    if dep is None:
        raise UsageError(
            f"no deployment is running in {env.app}/{env.name} to {kind}",
            hint="`slipway status` shows the last one; a deployment whose runner died is "
            "finished with `slipway resume` or undone with `slipway rollback`",
        )
    if kind in ("approve", "reject", "promote"):
        _check_approver(store, dep, who, kind)
    if token is not None:
        return dep, store.send_signal(
            dep.id, kind, actor=who, comment=comment, host=address, token=token
        )
    return dep, store.send_signal(
        dep.id, kind, actor=who, comment=comment, os_user=os_user_if_claimed(), host=machine()
    )


def _check_approver(store: Store, dep: Deployment, who: str, kind: str) -> None:
    """Refuse at once what the gate would refuse (the runner checks again: it decides)."""
    for step in store.steps(dep.id):
        if step.kind == "gate" and step.state == "running":
            approvers = list(step.params.get("approvers") or [])
            if approvers and who not in approvers:
                raise UsageError(
                    f"{who} may not decide at {step.description!r}",
                    hint=f"the approvers are {', '.join(approvers)} "
                    f"(set {NAME_VARIABLE} to act as one of them)",
                )
            if step.params.get("distinct_from_deployer") and kind != "reject":
                note = Records(store).deployment_note(dep.id)
                if note is not None and note.who == who:
                    raise UsageError(
                        f"{who} started {dep.id} and may not say Go at {step.description!r}",
                        hint="the gate is distinct_from_deployer: another person approves",
                    )


def wait_handled(store: Store, signal: Signal, *, clock: Clock, timeout_s: float) -> Signal:
    """The signal once its runner acted on it, or as it is after ``timeout_s``."""
    deadline = clock.monotonic() + timeout_s
    while True:
        current = store.signal(signal.id)
        if current.handled_at is not None or clock.monotonic() > deadline:
            return current
        clock.sleep(0.05)


ASK_TIMEOUT_S = 30.0  # a runner hears signals between steps and every 0.1 s while waiting
ROLLBACK_WAIT_S = 600.0


def ask_rollback(
    env: Environment, store: Store, running: Deployment, *, clock: Clock
) -> Deployment:
    """``slipway rollback`` while ``running`` runs: its runner knows what it changed and holds
    the lock, so it is asked to roll back, and this waits for the deployment to end."""
    _, signal = send(env, store, "rollback", who=actor())
    wait_handled(store, signal, clock=clock, timeout_s=ASK_TIMEOUT_S)
    return wait_ended(store, running, clock=clock, timeout_s=ROLLBACK_WAIT_S)


def wait_ended(store: Store, dep: Deployment, *, clock: Clock, timeout_s: float) -> Deployment:
    deadline = clock.monotonic() + timeout_s
    while True:
        current = store.deployment(dep.id)
        if not current.active or clock.monotonic() > deadline:
            return current
        clock.sleep(0.05)


def wait_for_step(
    env: Environment, store: Store, kind: str, *, clock: Clock, timeout_s: float
) -> Deployment:
    """The running deployment of ``env`` once one of its steps of ``kind`` runs (a pause, a
    gate, a hold): the moment a person — or a demo, a benchmark, a test — can act on it."""
    deadline = clock.monotonic() + timeout_s
    while clock.monotonic() < deadline:
        dep = running_deployment(env, store)
        if dep is not None and any(
            s.kind == kind and s.state == "running" for s in store.steps(dep.id)
        ):
            return dep
        clock.sleep(0.05)
    raise UsageError(f"no {kind} step of {env.app}/{env.name} ran within {timeout_s:g}s")
