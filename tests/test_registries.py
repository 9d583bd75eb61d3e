"""Every `type:` the spec accepts has exactly one implementation registered, and no more.

A backend is one module and one line in its registry (DESIGN.md); this walks each registry
against the union of spec models it serves, so a new spec type without an implementation (or
an implementation no spec can name) fails here, not at a deployment.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

import pytest

from slipway.actions.providers import PROVIDERS
from slipway.analysis.analysis import JUDGES
from slipway.backends import PARTS, RUNTIMES
from slipway.backends.fleet import SERVICES
from slipway.backends.health import HEALTH_CHECKS
from slipway.backends.local import ROUTERS
from slipway.flags import FLAG_BACKENDS
from slipway.notify.channels import CHANNELS
from slipway.preflight import BUILDERS
from slipway.spec.analysis import AnalysisSpec, MetricSpec
from slipway.spec.checks import PreflightSpec
from slipway.spec.flags import FlagsSpec
from slipway.spec.fleet import ServiceSpec, SshTargetSpec
from slipway.spec.notify import NotificationSpec
from slipway.spec.process import CheckSpec
from slipway.spec.router import RouterSpec
from slipway.spec.strategy import StrategySpec
from slipway.spec.targets import TargetSpec
from slipway.strategies import STRATEGIES


def _members(union: Any) -> list[Any]:
    """The models of an ``Annotated[A | B | …, Field(discriminator=…)]``."""
    inner = get_args(union)[0] if get_args(union) and hasattr(union, "__metadata__") else union
    return list(get_args(inner)) or [inner]


def _literals(annotation: Any) -> set[str]:
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    return {value for arg in get_args(annotation) for value in _literals(arg)}


def _types(union: Any, field: str = "type") -> set[str]:
    return {v for model in _members(union) for v in _literals(model.model_fields[field].annotation)}


@pytest.mark.parametrize(
    ("registry", "types"),
    [
        (STRATEGIES, _types(StrategySpec)),
        (PARTS, _types(TargetSpec)),
        (HEALTH_CHECKS, _types(CheckSpec)),
        (BUILDERS, _types(PreflightSpec)),
        (SERVICES, _types(ServiceSpec)),
        (CHANNELS, _literals(NotificationSpec.model_fields["type"].annotation)),
        (PROVIDERS, _literals(MetricSpec.model_fields["provider"].annotation)),
        (JUDGES, _literals(AnalysisSpec.model_fields["judge"].annotation)),
        (ROUTERS, _types(RouterSpec)),
        (FLAG_BACKENDS, _literals(FlagsSpec.model_fields["type"].annotation)),
        (RUNTIMES, _literals(SshTargetSpec.model_fields["runtime"].annotation)),
    ],
    ids=[
        "strategy",
        "target",
        "health",
        "preflight",
        "service",
        "channel",
        "provider",
        "judge",
        "router",
        "flags",
        "fleet runtime",
    ],
)
def test_each_spec_type_has_exactly_one_implementation(
    registry: dict[str, object], types: set[str]
) -> None:
    assert types, "the spec names no type here: the walk is wrong"
    assert set(registry) == types
