"""The metrics providers an analysis reads, made from its spec for one deployment.

``PROVIDERS`` is the registry: one factory per ``provider:`` a metric of the spec may name.
The HAProxy request log is a listener that starts on first use and stops with the deployment's
actions (unless a caller lent one that outlives them, as a benchmark does).

``PAST`` says how the watch after promotion gets each kind's pre-deploy baseline: measured
before the deploy and recorded (the request log and probes only see the present), or asked
later about that moment (Prometheus keeps history).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slipway.analysis import Provider
from slipway.analysis.haproxy_log import HAProxyLogProvider, RequestLog
from slipway.backends import Backends
from slipway.errors import UsageError
from slipway.spec.analysis import AnalysisSpec
from slipway.spec.environment import Environment


class ProviderSource:
    """What providers are made from: the environment, its backends, one request log."""

    def __init__(
        self, env: Environment, backends: Backends, *, lent_log: RequestLog | None = None
    ) -> None:
        self.env = env
        self.backends = backends
        self._log = lent_log
        self._own_log = False

    def log(self) -> RequestLog:
        if self._log is None:
            # the local backends (supervisord's client, the local HAProxy) on use only: a
            # fleet's deployment never needs them
            from slipway.backends.local import request_log

            self._log = request_log(self.env, self.backends.router).start()
            self._own_log = True
        return self._log

    def addresses(self) -> dict[str, tuple[str, int]]:
        return {s.slot: (s.address, s.port) for s in self.backends.router.servers()}

    def close(self) -> None:
        if self._log is not None and self._own_log:
            self._log.stop()
            self._log = None

    def providers(self, spec: AnalysisSpec) -> dict[str, Provider]:
        """A provider for each kind the analysis' metrics name."""
        return {
            kind: PROVIDERS[kind](self, spec) for kind in sorted({m.provider for m in spec.metrics})
        }

    def recorded(self, kind: str) -> bool:
        """Whether a pre-deploy baseline of this kind must be measured and recorded then."""
        return PAST[kind] is _recorded

    def past(
        self, spec: AnalysisSpec, *, samples: Mapping[str, Any], recorded_at: str
    ) -> dict[str, Provider]:
        """Providers of the pre-deploy baseline recorded at ``recorded_at`` (``samples``: the
        recorded measurement of each metric)."""
        at = datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
        return {
            kind: PAST[kind](self, spec, Recorded(samples, recorded_at, at.timestamp()))
            for kind in sorted({m.provider for m in spec.metrics})
        }


def _haproxy(source: ProviderSource, spec: AnalysisSpec) -> Provider:
    return HAProxyLogProvider(source.log())


def _probe(source: ProviderSource, spec: AnalysisSpec) -> Provider:
    from slipway.analysis.probe import ProbeProvider

    return ProbeProvider(source.addresses)


def _prometheus(source: ProviderSource, spec: AnalysisSpec) -> Provider:
    if spec.prometheus is None:  # the spec's validation asks for it: a guard, not a path
        raise UsageError("a prometheus metric needs `analysis.prometheus.url`")
    from slipway.analysis.prometheus import PrometheusProvider

    return PrometheusProvider(spec.prometheus, app=source.env.app, environment=source.env.name)


PROVIDERS: dict[str, Callable[[ProviderSource, AnalysisSpec], Provider]] = {
    "haproxy": _haproxy,
    "probe": _probe,
    "prometheus": _prometheus,
}


@dataclass(frozen=True)
class Recorded:
    """A pre-deploy baseline: the samples measured then, and when (ISO text, Unix time)."""

    samples: Mapping[str, Any]
    recorded_at: str
    unix: float


def _recorded(source: ProviderSource, spec: AnalysisSpec, past: Recorded) -> Provider:
    from slipway.analysis.recorded import RecordedProvider

    return RecordedProvider(past.samples, recorded_at=past.recorded_at)


def _prometheus_then(source: ProviderSource, spec: AnalysisSpec, past: Recorded) -> Provider:
    if spec.prometheus is None:  # the spec's validation asks for it: a guard, not a path
        raise UsageError("a prometheus metric needs `analysis.prometheus.url`")
    from slipway.analysis.prometheus import PrometheusProvider

    env = source.env
    return PrometheusProvider(spec.prometheus, app=env.app, environment=env.name, at=past.unix)


PAST: dict[str, Callable[[ProviderSource, AnalysisSpec, Recorded], Provider]] = {
    "haproxy": _recorded,
    "probe": _recorded,
    "prometheus": _prometheus_then,
}
