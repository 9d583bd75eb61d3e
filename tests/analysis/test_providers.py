"""The analysis providers against the real parts: HAProxy's request log and Prometheus
scraping the sample app and HAProxy's own exporter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slipway.analysis import Side, Window
from slipway.analysis.haproxy_log import HAProxyLogProvider
from slipway.analysis.prometheus import PrometheusProvider
from slipway.backends import Backends
from slipway.backends.local import request_log
from slipway.clock import SystemClock
from slipway.demo.traffic import TrafficGenerator
from slipway.engine import Engine
from slipway.spec import load_spec
from slipway.spec.analysis import MetricSpec, PrometheusSpec
from slipway.spec.environment import Environment
from slipway.store import Store
from tests.conftest import stop_environment
from tests.support.prometheus import PrometheusServer
from tests.support.sample import free_port_range, write_sample_spec

ERROR_RATE = (
    '(sum(rate(app_requests_total{version="{{version}}",code=~"5.."}[10s])) or vector(0))'
    ' / sum(rate(app_requests_total{version="{{version}}"}[10s]))'
)
HAPROXY_5XX = (
    'sum(rate(haproxy_server_http_responses_total{server=~"{{servers}}",code="5xx"}[10s]))'
    " or vector(0)"
)
CANARY = """
  type: canary
  steps:
    - set_weight: 50
    - pause: {{duration_s: 60}}
  analysis:
    interval_s: 2
    inconclusive_limit: 20
    consecutive_error_limit: 5
    prometheus: {{url: "{url}"}}
    metrics:
      - name: app_error_rate
        provider: prometheus
        query: '{error_rate}'
        fail_if: "> 0.05"
      - name: haproxy_5xx_per_s
        provider: prometheus
        query: '{haproxy_5xx}'
        fail_if: "> 1000000"
"""


def targets(env: Environment) -> list[str]:
    ports = [port for _, _, port in env.slots()]
    assert env.router.metrics_port is not None
    return [f"127.0.0.1:{p}" for p in [*ports, env.router.metrics_port]]


@pytest.fixture
def prometheus_env(tmp_path: Path) -> Iterator[tuple[Engine, Store, PrometheusServer]]:
    prometheus = PrometheusServer(tmp_path / "prometheus", targets=[], interval_s=0.5)
    strategy = CANARY.format(url=prometheus.url, error_rate=ERROR_RATE, haproxy_5xx=HAPROXY_5XX)
    spec = write_sample_spec(tmp_path, strategy=strategy, metrics_port=free_port_range(1))
    env = load_spec(spec).environment("test")
    prometheus.targets = targets(env)
    store = Store.for_state_dir(env.state_dir.parent)
    engine = Engine(env, store=store, backends=Backends.for_environment(env, clock=SystemClock()))
    try:
        with prometheus:
            yield engine, store, prometheus
    finally:
        store.close()
        stop_environment(env)


def test_prometheus_provider_reads_the_sample_apps_and_haproxys_metrics(
    prometheus_env: tuple[Engine, Store, PrometheusServer],
) -> None:
    engine, _store, prometheus = prometheus_env
    first = engine.deploy("v1")
    assert first.exit_code == 0, first.deployment.reason
    provider = PrometheusProvider(
        PrometheusSpec(url=prometheus.url), app="shop", environment="test"
    )
    rate = MetricSpec(
        name="rate",
        provider="prometheus",
        query='sum(rate(app_requests_total{version="{{version}}"}[5s]))',
        fail_if="< 1",
    )
    responses = MetricSpec(
        name="responses",
        provider="prometheus",
        query='sum(haproxy_server_http_responses_total{server=~"{{servers}}"})',
        fail_if="< 1",
    )
    v1 = Side("v1", tuple(s for _, s, _ in engine.env.slots() if s.endswith("_a")))
    url = f"http://127.0.0.1:{engine.env.router.listen.port}/work"
    now = Window(0, time.monotonic())
    with TrafficGenerator(url, concurrency=2, rate_per_s=100, max_duration_s=30) as traffic:
        deadline = time.monotonic() + 25
        seen = None
        while time.monotonic() < deadline:
            seen = provider.measure(rate, v1, now).value
            if seen is not None and seen > 10:  # a first reading may still hold the ramp-up
                break
            time.sleep(0.5)
        assert seen is not None and seen > 10  # requests per second of v1, from its own metrics
        answered = provider.measure(responses, v1, now).value
        assert answered is not None and answered > 0  # HAProxy's exporter, by server
    assert traffic.report.failed == 0
    # a version nobody runs has no data: that is "nothing measured", never zero
    assert provider.measure(rate, Side("v9", ("none",)), now).value is None


def test_canary_aborted_on_prometheus_metrics(
    prometheus_env: tuple[Engine, Store, PrometheusServer],
) -> None:
    engine, store, _prometheus = prometheus_env
    first = engine.deploy("v1")
    assert first.exit_code == 0, first.deployment.reason
    url = f"http://127.0.0.1:{engine.env.router.listen.port}/work"
    with TrafficGenerator(url, concurrency=4, rate_per_s=150, max_duration_s=90):
        outcome = engine.deploy("errors_20pct")
    dep = outcome.deployment
    assert dep.status == "rolled_back", dep.reason
    assert "app_error_rate" in (dep.reason or "")
    last = store.analysis_runs(dep.id)[-1]
    measured = {m["metric"]: m for m in last.measurements if "metric" in m}
    assert measured["app_error_rate"]["canary"] > 0.05
    assert measured["haproxy_5xx_per_s"]["canary"] > 0  # {{servers}}: the canary's slots only


def test_haproxy_log_gives_each_request_of_each_slot(
    prometheus_env: tuple[Engine, Store, PrometheusServer],
) -> None:
    engine, _store, _prometheus = prometheus_env
    first = engine.deploy("v1")
    assert first.exit_code == 0, first.deployment.reason
    slots = tuple(s for _, s, _ in engine.env.slots() if s.endswith("_a"))
    url = f"http://127.0.0.1:{engine.env.router.listen.port}/work"
    with request_log(engine.env, engine.backends.router) as collector:
        began = time.monotonic()
        with TrafficGenerator(url, concurrency=2, max_requests=300) as traffic:
            deadline = time.monotonic() + 30
            while traffic.requests_so_far() < 300 and time.monotonic() < deadline:
                time.sleep(0.1)
        time.sleep(0.5)
        window = Window(began, time.monotonic())
        sample = HAProxyLogProvider(collector).measure(
            MetricSpec(name="error_rate", fail_if="> 0.01"), Side("v1", slots), window
        )
        per_slot = [len(collector.records((slot,), window)) for slot in slots]
    assert sample.requests == traffic.report.requests == 300
    assert sample.errors == 0
    assert len(sample.latencies_ms) == 300 and min(sample.latencies_ms) >= 0
    assert all(n >= 90 for n in per_slot), per_slot  # round-robin over the three slots
