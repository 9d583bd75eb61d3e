"""The plan: what a deployment of one release to one environment will do, as data.

``build_plan`` and ``rollback_plan`` only read the placement they are given;
printing their result (``slipway plan``) changes nothing anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.environment import Environment
from slipway.spec.strategy import header_routes
from slipway.steps import (
    Gate,
    Layout,
    Maintenance,
    Nothing,
    OfVersion,
    Placement,
    ProcessPlacement,
    Step,
    StepList,
)
from slipway.strategies import STRATEGIES, UNDOS, back_to
from slipway.strategies.database import database_steps
from slipway.strategies.roles import roles_steps


def _preamble(version: str) -> list[Step]:
    plan = StepList()
    plan.one("prepare_release", OfVersion(version), f"prepare release {version}")
    plan.one("ensure_infra", Nothing(), "ensure supervisord and the router are running")
    return plan.steps


def _renumber(steps: Sequence[Step], offset: int) -> list[Step]:
    return [Step(s.kind, s.params, s.description, s.group + offset) for s in steps]


def build_plan(
    env: Environment,
    *,
    version: str,
    placement: Sequence[Placement],
    processes: Sequence[ProcessPlacement] = (),
) -> list[Step]:
    """Steps to roll ``version`` out to ``env`` from ``placement`` (web's slots) and
    ``processes`` (the roles without traffic), with its strategy."""
    layout = Layout.from_slots(env.slots())
    strategy = STRATEGIES[env.strategy.type]
    body = strategy(env.strategy, version=version, layout=layout, placement=placement)
    roles = roles_steps(env.roles, slots=env.role_slots(), version=version, processes=processes)
    head = _preamble(version)
    database = database_steps(
        env.database, version=version, first_group=head[-1].group, media=env.media
    )
    checks = [s for s in database if s.kind != "migrate_database"]
    changes = _maintained(env, [s for s in database if s.kind == "migrate_database"])
    return _chain(head, checks, _go_no_go(env, version), changes, *_then_roles(body, roles))


def _maintained(env: Environment, migration: list[Step]) -> list[Step]:
    """A migration that blocks writes runs behind the maintenance page: on right before it,
    off right after (and first thing in any rollback: see ``rollback_plan``)."""
    database = env.database
    if not migration or database is None or not (database.migrate and database.migrate.maintenance):
        return migration
    on, off = StepList(), StepList()
    on.one("maintenance", Maintenance(on=True), "maintenance page on (the migration blocks)")
    off.one("maintenance", Maintenance(on=False), "maintenance page off")
    return _chain(on.steps, migration, off.steps)


def _then_roles(web: list[Step], roles: list[Step]) -> tuple[list[Step], list[Step], list[Step]]:
    """The roles' phase, whatever the strategy: once web's new instances serve — right before
    the release is marked current (so a blue-green's hold, a canary's stable set draining,
    come after it) — or at the end of a plan that marks nothing current."""
    marks = [i for i, s in enumerate(web) if s.kind == "mark_current"]
    cut = marks[0] if marks else len(web)
    return web[:cut], roles, web[cut:]


def _go_no_go(env: Environment, version: str) -> list[Step]:
    """The Go/No-Go gate, before the first change to production (a migration, or the first
    instance): backups and rehearsals before it touch nothing."""
    if env.go_no_go is None:
        return []
    plan = StepList()
    plan.one(
        "gate",
        Gate(
            gate="go_no_go",
            version=version,
            approvers=list(env.go_no_go.approvers),
            timeout_s=env.go_no_go.timeout_s,
            quorum=env.go_no_go.quorum,
            distinct_from_deployer=env.go_no_go.distinct_from_deployer,
        ),
        f"Go/No-Go for {version}: `slipway approve` or `slipway reject`",
    )
    return plan.steps


def _lifted(env: Environment) -> list[Step]:
    """A rollback first lifts the maintenance page, if the router has one: whatever point the
    deployment reached, users get the app back (the step is idempotent)."""
    if env.router.maintenance is None:
        return []
    plan = StepList()
    plan.one("maintenance", Maintenance(on=False), "maintenance page off")
    return plan.steps


def _unrouted(env: Environment) -> list[Step]:
    """A rollback of a canary that routes by header first removes its routes: a tester's
    request must not reach what is being undone."""
    if not header_routes(env.strategy):
        return []
    plan = StepList()
    plan.one("clear_header_routes", Nothing(), "header routes removed")
    return plan.steps


def _chain(*parts: Sequence[Step]) -> list[Step]:
    """One plan from several: parallel groups renumbered in order, kept apart across parts."""
    result: list[Step] = []
    number = 0
    for part in parts:
        previous: int | None = None
        for step in part:
            if step.group != previous:
                number += 1
                previous = step.group
            result.append(Step(step.kind, step.params, step.description, number))
    return result


def rollback_plan(
    env: Environment,
    *,
    version: str | None,
    placement: Sequence[Placement],
    prepare: bool,
    processes: Sequence[ProcessPlacement] = (),
) -> list[Step]:
    """Steps back to ``version`` (nothing serving if None) — web first, then the roles;
    ``prepare`` its release first."""
    layout = Layout.from_slots(env.slots())
    web = _lifted(env) + _chain(
        _unrouted(env), back_to(version, layout=layout, placement=placement)
    )
    roles = roles_steps(env.roles, slots=env.role_slots(), version=version, processes=processes)
    body = _chain(*_then_roles(web, roles))
    if not prepare or version is None:
        return body
    head = _preamble(version)
    return head + _renumber(body, head[-1].group)


def release_undo(
    env: Environment, *, version: str, done: Sequence[tuple[str, str]]
) -> list[Step] | None:
    """For a strategy that releases by other means than instances (a flag), once its code is
    live: the steps that take the release back, leaving the instances as they are. None:
    roll back instances (``rollback_plan``). ``done``: (kind, state) of the deploy's steps."""
    undo = UNDOS.get(env.strategy.type)
    if undo is None:
        return None
    return undo(env.strategy, version=version, done=done)
