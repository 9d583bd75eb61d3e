"""Analysis per flag variant: HAProxy's request log tells the two sides apart by the variant
the app reported, and PromQL by the sample app's ``feature_flag_variant`` label — the same
providers and judges, users with the flag on against users with it off."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from slipway.analysis import Side, Window
from slipway.analysis.haproxy_log import FollowedLog, HAProxyLogProvider, parse
from slipway.analysis.prometheus import PrometheusProvider
from slipway.backends import Backends
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.flags.server import FlagServer, ofrep_app, source_for
from slipway.spec import load_spec
from slipway.spec.analysis import MetricSpec, PrometheusSpec
from slipway.spec.strategy import FlagSpec
from slipway.store import Store
from tests.analysis.test_providers import targets
from tests.conftest import stop_environment
from tests.support.prometheus import PrometheusServer
from tests.support.sample import free_port_range, write_sample_spec

VARIANT_ERRORS = (
    '(sum(rate(app_requests_total{version="{{version}}",feature_flag_variant="{{variant}}",'
    'code=~"5.."}[10s])) or vector(0)) / sum(rate(app_requests_total{version="{{version}}",'
    'feature_flag_variant="{{variant}}"}[10s]))'
)


def test_a_log_line_with_and_without_a_variant() -> None:
    with_variant = parse("web-1_b 500 3 new-checkout=on\n", 1.0)
    assert with_variant is not None and with_variant.variant == "new-checkout=on"
    without = parse("web-1_b 200 3 -", 1.0)
    assert without is not None and without.variant == "-"
    older = parse("web-1_b 200 3", 1.0)  # a line of a config written before variants
    assert older is not None and older.variant == "-"
    assert parse("web-1_b 200", 1.0) is None


def test_the_log_provider_keeps_each_sides_variant() -> None:
    """The lines as the ring gives them (the real HAProxy path: test_providers.py)."""
    metric = MetricSpec(name="error_rate", fail_if="> 0.01")
    lines = [
        "web-1_b 500 3 new-checkout=on",
        "web-1_b 200 3 new-checkout=on",
        "web-1_b 200 4 new-checkout=off",
        "web-1_a 500 4 new-checkout=on",  # another slot: not this side
        "web-1_b 200 4 other=on",  # another flag
    ]

    def follow(on_line: Callable[[str], None], stop: threading.Event) -> None:
        for line in lines:
            on_line(line)
        stop.wait()

    with FollowedLog(follow) as log:
        deadline = time.monotonic() + 5
        provider = HAProxyLogProvider(log)
        window = Window(0, time.monotonic() + 60)
        on = Side("v2", ("web-1_b",), flag="new-checkout", variant="on")
        while provider.measure(metric, on, window).requests < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        sample = provider.measure(metric, on, window)
        assert (sample.requests, sample.errors) == (2, 1)
        off = provider.measure(metric, Side("v2", ("web-1_b",), "new-checkout", "off"), window)
        assert (off.requests, off.errors) == (1, 0)
        every = provider.measure(metric, Side("v2", ("web-1_b",)), window)
        assert every.requests == 4  # no variant: the slot's every request


def test_placeholders_of_a_flag_rollout() -> None:
    provider = PrometheusProvider(
        PrometheusSpec(url="http://127.0.0.1:9"), app="a", environment="e"
    )
    side = Side("v2", ("web-1_b",), flag="new-checkout", variant="on")
    query = (
        'x{feature_flag_key="{{flag}}",feature_flag_variant="{{variant}}",version="{{version}}"}'
    )
    assert provider.render(query, side) == (
        'x{feature_flag_key="new-checkout",feature_flag_variant="on",version="v2"}'
    )


@pytest.fixture
def prometheus_flags(tmp_path: Path) -> Iterator[tuple[Engine, Store]]:
    prometheus = PrometheusServer(tmp_path / "prometheus", targets=[], interval_s=0.5)
    port = free_port_range(1)
    spec = write_sample_spec(
        tmp_path,
        metrics_port=free_port_range(1),
        extra=f"    flags: {{listen: 127.0.0.1:{port}}}\n",
        process_env={"OFREP_URL": f"http://127.0.0.1:{port}"},
    )
    env = load_spec(spec).environment("test")
    prometheus.targets = targets(env)
    strategy = FlagSpec.model_validate(
        {
            "type": "flag",
            "flag": "new-checkout",
            "steps": [{"set_weight": 30}, {"pause": {"duration_s": 60}}],
            "analysis": {
                "interval_s": 2,
                "inconclusive_limit": 20,
                "consecutive_error_limit": 5,
                "prometheus": {"url": prometheus.url},
                "metrics": [
                    {
                        "name": "variant_error_rate",
                        "provider": "prometheus",
                        "query": VARIANT_ERRORS,
                        "fail_if": "> 0.05",
                    }
                ],
            },
        }
    )
    env = env.model_copy(update={"strategy": strategy})
    store = Store.for_state_dir(env.state_dir.parent)
    engine = Engine(env, store=store, backends=Backends.for_environment(env, clock=SystemClock()))
    server = FlagServer(ofrep_app(source_for(env, store)), host="127.0.0.1", port=port)
    try:
        with prometheus, server:
            yield engine, store
    finally:
        store.close()
        stop_environment(env)


def test_a_flag_rollout_aborted_on_the_variant_label(
    prometheus_flags: tuple[Engine, Store],
) -> None:
    engine, store = prometheus_flags
    url = f"http://127.0.0.1:{engine.env.router.listen.port}/work"
    with TrafficGenerator(url, concurrency=4, rate_per_s=150, max_duration_s=120, users=5000):
        outcome = engine.deploy("flag_errors_20pct")
    dep = outcome.deployment
    assert dep.status == "rolled_back", dep.reason
    assert "variant_error_rate" in (dep.reason or "")
    last = store.analysis_runs(dep.id)[-1]
    measured = {m["metric"]: m for m in last.measurements if "metric" in m}
    assert measured["variant_error_rate"]["canary"] > 0.05  # flag on
    assert measured["variant_error_rate"]["baseline"] == 0  # flag off: the old code path
    assert store.flag("shop", "test", "new-checkout").weight == 0  # type: ignore[union-attr]
