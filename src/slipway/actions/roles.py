"""What the steps of roles without traffic do: start a process, check it, stop it warmly.

Each is idempotent like the instances' actions: the target keeps a process already running
the version, forgets a stopped one quietly, and a check only reads. ``stop_process`` returns
once the process is gone — SIGTERM, its running work finished (a Celery worker's warm
shutdown) or killed after the role's ``stop_timeout_s`` — which is what lets a singleton's
successor start only after it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from slipway.actions.context import StepContext
from slipway.checks.base import CheckResult, Status
from slipway.checks.health import wait_healthy
from slipway.errors import CheckFailed, PermanentError
from slipway.spec.roles import RoleSpec
from slipway.steps import OfProcess, ProcessStart
from slipway.targets.base import RoleProcess, RoleTarget

Result = dict[str, Any]


class RoleActions:
    def __init__(self, context: StepContext) -> None:
        self._env = context.env
        self._b = context.backends
        self._clock = context.clock
        self._deployment_id = context.deployment_id

    def _target(self) -> RoleTarget:
        if self._b.roles is None:
            raise PermanentError(
                f"targets of type {self._env.targets[0].type!r} cannot run roles without "
                "traffic (yet)"
            )
        return self._b.roles

    def _spec(self, role: str) -> RoleSpec:
        spec = self._env.roles.get(role)
        if spec is None:
            raise PermanentError(f"the spec has no role {role!r} any more")
        return spec

    def start_process(self, params: ProcessStart) -> Result:
        spec = self._spec(params.role)
        release = self._b.releases.prepare(params.version)
        self._target().start_process(
            RoleProcess(
                name=params.name,
                role=params.role,
                version=params.version,
                release_dir=release.path,
                command=_words(spec.command, params),
                env=passed_env(spec.env, spec.pass_env),
                stop_timeout_s=spec.stop_timeout_s,
                image=release.image,
                deployment=self._deployment_id,
            )
        )
        return {}

    def check_process(self, params: ProcessStart) -> Result:
        spec = self._spec(params.role)
        if spec.check is None:
            return {"skipped": "the role has no check"}
        check = spec.check
        release = self._b.releases.prepare(params.version)
        command = _Beside(
            self._target(),
            params.name,
            _words(check.command, params),
            directory=release.path,
            env=passed_env(spec.env, spec.pass_env),
            timeout_s=check.timeout_s,
        )
        result = wait_healthy(
            command,
            interval_s=check.interval_s,
            timeout_s=check.within_s,
            healthy_threshold=check.passes,
            unhealthy_threshold=check.failures,
            clock=self._clock,
        )
        if not result.passed:  # wait_healthy raises on failure; this guards its contract
            raise CheckFailed(f"{params.name} failed its check", evidence=result.evidence)
        return {"evidence": result.evidence}

    def stop_process(self, params: OfProcess) -> Result:
        self._target().stop_process(params.name)
        return {}


class _Beside:
    """A role's check as a ``Check``: its command run where the process runs."""

    def __init__(
        self, target: RoleTarget, process: str, argv: list[str], *, directory: Path,
        env: dict[str, str], timeout_s: float,
    ) -> None:  # fmt: skip
        self.name = f"check {process}"
        self._run = partial(
            target.run_beside, process, argv, directory=directory, env=env, timeout_s=timeout_s
        )

    def probe(self) -> CheckResult:
        started = time.monotonic()
        done = self._run()
        elapsed = time.monotonic() - started
        if done.exit_status is None:
            return CheckResult("inconclusive", done.output, elapsed)
        status: Status = "pass" if done.exit_status == 0 else "fail"
        evidence = f"exit {done.exit_status}" + (f": {done.output}" if done.output else "")
        return CheckResult(status, evidence, elapsed)


def passed_env(env: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """``env`` and the runner's variables ``names`` (a secret the spec only names); one that is
    unset stops the step: an instance without its ``DATABASE_URL`` would only fail later."""
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise PermanentError(
            f"{', '.join(missing)} not set in the runner's environment (process pass_env)"
        )
    return {**env, **{n: os.environ[n] for n in names}}


def _words(argv: list[str], params: ProcessStart) -> list[str]:
    return [a.replace("{name}", params.name).replace("{version}", params.version) for a in argv]
