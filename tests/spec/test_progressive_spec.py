"""Canary, blue-green and analysis in slipway.yaml: the template's defaults, and mistakes
pointed at with file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec import load_spec
from slipway.spec.strategy import CanarySpec
from slipway.spec.template import render
from tests.spec.test_load import GOOD


def write(directory: Path, strategy: str) -> Path:
    (directory / "releases").mkdir(exist_ok=True)
    path = directory / "slipway.yaml"
    path.write_text(GOOD.replace("strategy:\n  type: rolling\n  max_surge: 1\n", strategy))
    return path


def test_the_template_sends_production_out_as_a_canary_with_the_seeds_rules(
    tmp_path: Path,
) -> None:
    (tmp_path / "releases").mkdir()
    spec = tmp_path / "slipway.yaml"
    spec.write_text(render("shop"))
    loaded = load_spec(spec)
    production = loaded.environment("production").strategy
    assert isinstance(production, CanarySpec) and production.analysis is not None
    rules = {m.name: (m.fail_if, m.provider) for m in production.analysis.metrics}
    assert rules == {
        "error_rate": ("> 0.01", "haproxy"),
        "p95_latency_ms": ("> 2 * baseline", "haproxy"),
    }
    assert loaded.environment("staging").strategy.type == "rolling"


@pytest.mark.parametrize(
    ("strategy", "line", "message"),
    [
        (
            "strategy:\n  type: canary\n  steps:\n    - set_weight: 10\n      pause: {}\n",
            12,
            "exactly one of set_weight, set_header_route, pause, analysis",
        ),
        ("strategy:\n  type: canary\n  steps:\n    - set_weight: 150\n", 12, "less than or equal"),
        (
            "strategy:\n  type: canary\n  analysis:\n    metrics:\n"
            "      - {name: error_rate, fail_if: bigger than 1}\n",
            13,
            "> 2 * baseline",
        ),
        (
            "strategy:\n  type: canary\n  analysis:\n    metrics:\n"
            "      - {name: q, provider: prometheus, query: up, fail_if: '> 0'}\n",
            12,
            "prometheus: {url:",
        ),
        (
            "strategy:\n  type: blue-green\n  analysis:\n    metrics:\n"
            "      - {name: error_rate, fail_if: '> 0'}\n",
            10,
            "use `provider: probe`",
        ),
        ("strategy:\n  type: canary-ish\n", 10, "canary"),
    ],
)
def test_mistakes_are_located(tmp_path: Path, strategy: str, line: int, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, strategy))
    text = str(caught.value)
    assert f"slipway.yaml:{line}:" in text, text
    assert message in text, text
