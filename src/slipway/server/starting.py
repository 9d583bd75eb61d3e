"""Starting a deployment from the API (``POST /api/v1/environments/{env}/deployments``), and
rolling back one that has finished (``POST /api/v1/deployments/{id}/rollback``).

The server does not become a runner. It starts ``slipway deploy`` — the CLI, so the very
path a person's terminal takes: ``Deployer``'s lock, pre-flight, plan and records — as a
process of its own session, named after the token (``$SLIPWAY_USER``: recorded as who
deployed, and what a ``distinct_from_deployer`` gate compares), its output in
``<state_dir>/runs/``. That runner outlives the server: a restarted or stopped server does
not interrupt a deployment. This answers once the deployment is in the store, or with why the
runner stopped first (locked, No-Go before it began, a bad release).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from slipway.clock import Clock
from slipway.errors import Conflict, UsageError
from slipway.redact import scrub
from slipway.server.site import Caller, Site
from slipway.spec.base import is_valid_version
from slipway.spec.environment import Environment
from slipway.store import Deployment
from slipway.who import NAME_VARIABLE

APPEARS_WITHIN_S = 60.0


@dataclass(frozen=True)
class Started:
    deployment: Deployment
    log: Path


def start(site: Site, caller: Caller, *, environment: str, version: str) -> Started:
    """Start ``slipway deploy --version version`` in ``environment`` as ``caller``."""
    env = site.environment(environment)
    caller.identity.check("deploy", env.name)
    if not is_valid_version(version):
        raise UsageError(f"version {version!r} is not allowed", hint="letters, digits, . _ + -")
    return _run(site, caller, env, ["deploy", "--version", version], f"deploy-{version}")


def roll_back(site: Site, caller: Caller, finished: Deployment) -> Started:
    """``slipway rollback`` of ``finished``, the environment's current release: the release
    before it is put back (traffic first), as ``caller``."""
    env = site.environment(finished.environment)
    caller.identity.check("rollback", env.name)
    current = site.store.current(env.app, env.name)
    if current is None or current.deployment_id != finished.id:
        raise Conflict(
            f"{finished.id} is not what {env.name} runs now: only the current release is "
            "rolled back",
            hint=f"the current one is {current.deployment_id if current else 'none'}",
        )
    return _run(site, caller, env, ["rollback"], "rollback")


def _run(site: Site, caller: Caller, env: Environment, args: list[str], label: str) -> Started:
    if site.spec_file is None:
        raise Conflict("this server was not started from a spec file: it cannot run slipway")
    before = {d.id for d in site.store.deployments(env.app, env.name, limit=5)}
    runs = env.state_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    log = runs / f"{site.clock.now():%Y%m%d-%H%M%S-%f}-{label}.log"
    with log.open("wb") as out:
        runner = subprocess.Popen(
            [sys.executable, "-m", "slipway", *args, "-f", str(site.spec_file), "--env", env.name],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, NAME_VARIABLE: caller.identity.name},
            start_new_session=True,  # not stopped by a signal to the server
        )  # fmt: skip
    threading.Thread(target=runner.wait, name="slipway-runner-reaper", daemon=True).start()
    found = _appears(site, env.app, env.name, before, runner, site.clock)
    if found is None:
        tail = scrub(log.read_text(errors="replace")[-600:].strip())
        raise Conflict(f"slipway {args[0]} stopped before a deployment began: {tail}")
    return Started(found, log)


def _appears(
    site: Site,
    app: str,
    environment: str,
    before: set[str],
    runner: subprocess.Popen[bytes],
    clock: Clock,
) -> Deployment | None:
    """The deployment the runner created, once the store has it (None: it exited first)."""
    deadline = clock.monotonic() + APPEARS_WITHIN_S
    while clock.monotonic() < deadline:
        for dep in site.store.deployments(app, environment, limit=5):
            if dep.id not in before and dep.version:
                return dep
        if runner.poll() is not None:
            return None
        clock.sleep(0.1)
    return None
