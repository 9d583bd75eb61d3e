"""Header-routed canaries, as data: a `set_header_route` step routes to the canary's slots
(before any weight, or instead of weights), promotion removes the routes, and the rollback
plan removes them first; the spec refuses what cannot be routed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from slipway.errors import SpecError
from slipway.plan import rollback_plan
from slipway.runbook.facts import other_runs
from slipway.spec import load_spec
from slipway.spec.strategy import CanarySpec, CanaryStep, FlagSpec, HeaderRouteSpec, PauseSpec
from slipway.steps import HeaderRoute, Nothing, Placement, Step
from slipway.strategies import canary
from tests.spec.test_load import GOOD
from tests.strategies.test_rolling import all_on, layout
from tests.support.sample import write_sample_spec


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path


ROUTE = HeaderRouteSpec(name="canary", value="true")


def test_a_header_route_before_any_weight_sends_testers_to_the_canary_slots() -> None:
    spec = CanarySpec(
        type="canary",
        steps=[
            CanaryStep(set_header_route=ROUTE),
            CanaryStep(pause=PauseSpec()),
            CanaryStep(set_weight=20),
        ],
    )
    steps = canary(spec, version="v2", layout=layout(2), placement=all_on("v1", 2))
    kinds = [s.kind for s in steps]
    route = steps[kinds.index("set_header_route")]
    assert isinstance(route.params, HeaderRoute)
    assert route.params == HeaderRoute("header", "canary", "true", ["web-1_b", "web-2_b"], "v2")
    # after the canary is checked and on standby, before its first weight and the gate
    assert kinds.index("standby_instance") < kinds.index("set_header_route")
    assert kinds.index("set_header_route") < kinds.index("gate") < kinds.index("switch_traffic")
    # promotion removes the route, before the stable set goes
    promote = max(i for i, s in enumerate(steps) if s.kind == "switch_traffic")
    assert promote < kinds.index("clear_header_routes")
    assert kinds.index("clear_header_routes") < kinds.index("drain_instance")
    assert spec.header_routes() == [("header", "canary")]
    assert "header canary: true → canary" in spec.describe()


def test_a_canary_by_header_only_and_a_route_removed_by_a_later_step() -> None:
    off = HeaderRouteSpec(name="beta", match="cookie")
    spec = CanarySpec(
        type="canary",
        steps=[
            CanaryStep(set_header_route=HeaderRouteSpec(name="beta", value="1", match="cookie")),
            CanaryStep(pause=PauseSpec(duration_s=60)),
            CanaryStep(set_header_route=off),
        ],
    )
    steps = canary(spec, version="v2", layout=layout(1), placement=all_on("v1", 1))
    routes = [s.params for s in steps if isinstance(s.params, HeaderRoute)]
    assert [(r.match, r.name, r.value) for r in routes] == [
        ("cookie", "beta", "1"),
        ("cookie", "beta", None),
    ]
    assert spec.header_routes() == [("cookie", "beta")]


def test_without_routes_no_route_step_anywhere() -> None:
    spec = CanarySpec(type="canary", steps=[CanaryStep(set_weight=50)])
    steps = canary(spec, version="v2", layout=layout(2), placement=all_on("v1", 2))
    assert not {"set_header_route", "clear_header_routes"} & {s.kind for s in steps}


def test_the_rollback_removes_the_routes_first(tmp_path: Path) -> None:
    strategy = """
  type: canary
  steps: [{set_header_route: {name: canary, value: "true"}}, {pause: {}}, {set_weight: 10}]"""
    env = load_spec(write_sample_spec(tmp_path, strategy=strategy, count=2)).environment("test")
    live = [Placement("web-1_a", "v1", True, True), Placement("web-1_b", "v2", True, False)]
    steps = rollback_plan(env, version="v1", placement=live, prepare=False)
    assert steps[0].kind == "clear_header_routes"
    assert steps[1].group > steps[0].group  # before anything else, in a group of its own
    plain = load_spec(write_sample_spec(mkdir(tmp_path / "plain"), count=2)).environment("test")
    assert "clear_header_routes" not in [
        s.kind for s in rollback_plan(plain, version="v1", placement=live, prepare=False)
    ]


@pytest.mark.parametrize(
    "route",
    [
        {"name": "can ary", "value": "true"},
        {"name": "canary", "value": "true\nadd map"},
        {"name": "canary", "value": "a b"},
        {"name": "canary", "value": "1", "match": "query"},
    ],
)
def test_names_and_values_that_cannot_be_routed_are_refused(route: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        CanaryStep.model_validate({"set_header_route": route})


def test_a_flag_rollout_has_no_canary_to_route_to() -> None:
    with pytest.raises(ValidationError, match="flag rollout has none"):
        FlagSpec(
            type="flag",
            flag="new-checkout",
            steps=[CanaryStep(set_header_route=ROUTE), CanaryStep(set_weight=10)],
        )


def test_a_header_route_behind_nginx_is_refused_where_the_spec_says_it(tmp_path: Path) -> None:
    """nginx has no runtime maps: refused when the spec is read, not when the canary runs."""
    (tmp_path / "releases").mkdir()
    spec = tmp_path / "slipway.yaml"
    text = GOOD.replace(
        "strategy:\n  type: rolling\n  max_surge: 1\n",
        'strategy:\n  type: canary\n  steps: [{set_header_route: {name: x, value: "1"}}]\n',
    ).replace("type: haproxy", "type: nginx")
    spec.write_text(text)
    with pytest.raises(SpecError, match="needs the environment's own HAProxy") as caught:
        load_spec(spec)
    assert "slipway.yaml:" in str(caught.value)
    spec.write_text(text.replace("type: nginx", "type: haproxy"))
    assert load_spec(spec).environment("production").strategy.type == "canary"


def test_the_runbook_says_what_a_header_route_step_runs(tmp_path: Path) -> None:
    env = load_spec(write_sample_spec(tmp_path, count=1)).environment("test")
    route = Step("set_header_route", HeaderRoute("header", "x", "1", ["web-1_b"], "v2"), "", 1)
    assert "commit map" in (other_runs(route, env) or "")
    assert "commit map" in (other_runs(Step("clear_header_routes", Nothing(), "", 1), env) or "")
