"""What a deployment of a version would do, changing nothing: the pre-flight it runs first,
its steps from what runs where now, the migrations it would apply, and what listens beyond
loopback. ``slipway plan`` prints it; the API can serve it; both ask ``Deployer.plan``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slipway.backends import Backends
from slipway.backends.placement import read_placement, read_processes, recorded_placement
from slipway.database.django import planned
from slipway.plan import build_plan
from slipway.preflight import checklist
from slipway.release import check_version
from slipway.spec.environment import Environment
from slipway.steps import Step
from slipway.store import Store


@dataclass(frozen=True)
class Preview:
    version: str
    preflight: list[dict[str, Any]]
    steps: list[Step]
    migrations: dict[str, object] | None  # Django's `migrate --plan` per app, when it has one
    placement_from: str  # where "what runs where" was read: the target, or the store
    exposed: list[str]  # every listener beyond loopback the environment has

    def as_dict(self, environment: str) -> dict[str, Any]:
        return {
            "environment": environment,
            "version": self.version,
            "preflight": self.preflight,
            "steps": [s.as_dict() for s in self.steps],
            "migrations": self.migrations,
            "exposed": self.exposed,
            "placement_from": self.placement_from,
        }


def preview(
    env: Environment, store: Store, backends: Backends, version: str, *, offline: bool
) -> Preview:
    """``offline``: from the store's records alone (no process, router or host is asked)."""
    check_version(version)
    if offline:
        placement, source, processes = recorded_placement(store, env), "the store's records", []
    else:
        placement, source = read_placement(backends), live_source(env)
        processes = read_processes(backends)
    steps = build_plan(env, version=version, placement=placement, processes=processes)
    prepared = backends.releases.get(version)  # its code, or this checkout's
    return Preview(
        version=version,
        preflight=checklist(env),
        steps=steps,
        migrations=planned(env.database, directory=prepared.path if prepared else env.root),
        placement_from=source,
        exposed=env.router.exposed(),
    )


def live_source(env: Environment) -> str:
    if env.fleet is not None:
        count = len(env.fleet.app_hosts)
        return f"{count} host{'s' if count != 1 else ''} over SSH (--offline: the store's records)"
    return "supervisord and HAProxy"
