"""The plan: what a deployment of one release to one environment will do, as data.

``build_plan`` and ``rollback_plan`` only read the placement they are given;
printing their result (``slipway plan``) changes nothing anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from slipway.spec.environment import Environment
from slipway.spec.strategy import header_routes
from slipway.steps import Gate, Layout, Nothing, OfVersion, Placement, Step, StepList
from slipway.strategies import STRATEGIES, UNDOS, back_to
from slipway.strategies.database import database_steps


def _preamble(version: str) -> list[Step]:
    plan = StepList()
    plan.one("prepare_release", OfVersion(version), f"prepare release {version}")
    plan.one("ensure_infra", Nothing(), "ensure supervisord and the router are running")
    return plan.steps


def _renumber(steps: Sequence[Step], offset: int) -> list[Step]:
    return [Step(s.kind, s.params, s.description, s.group + offset) for s in steps]


def build_plan(env: Environment, *, version: str, placement: Sequence[Placement]) -> list[Step]:
    """Steps to roll ``version`` out to ``env`` from ``placement``, with its strategy."""
    layout = Layout.from_slots(env.slots())
    strategy = STRATEGIES[env.strategy.type]
    body = strategy(env.strategy, version=version, layout=layout, placement=placement)
    head = _preamble(version)
    database = database_steps(env.database, version=version, first_group=head[-1].group)
    checks = [s for s in database if s.kind != "migrate_database"]
    changes = [s for s in database if s.kind == "migrate_database"]
    return _chain(head, checks, _go_no_go(env, version), changes, body)


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
        ),
        f"Go/No-Go for {version}: `slipway approve` or `slipway reject`",
    )
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
    env: Environment, *, version: str | None, placement: Sequence[Placement], prepare: bool
) -> list[Step]:
    """Steps back to ``version`` (nothing serving if None); ``prepare`` its release first."""
    layout = Layout.from_slots(env.slots())
    body = back_to(version, layout=layout, placement=placement)
    if header_routes(env.strategy):  # first: a tester's request must not reach what is undone
        routes = StepList()
        routes.one("clear_header_routes", Nothing(), "header routes removed")
        routes.extend(body)
        body = routes.steps
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
