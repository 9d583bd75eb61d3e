"""A baseline measured once and recorded: what the previous release did before the deploy.

After promotion every request goes to the new release, so nothing of the previous one is
left to measure beside it. The watch after promotion compares the new release with what the
previous one measured before anything moved: a ``record_baseline`` step measures it and the
store keeps the samples as JSON (the step's result), and ``RecordedProvider`` gives them back
to the analysis — for HAProxy and probe metrics. PromQL needs no recording: Prometheus keeps
history, and the same query is asked at the time the baseline was recorded
(``PrometheusProvider(at=…)``).

A sample keeps its exact request and error counts; its latencies are kept as at most
``KEPT_LATENCIES`` evenly spaced order statistics, which keep its percentiles (to within one
rank in ``KEPT_LATENCIES``) and its shape for a rank test, in a record of bounded size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slipway.analysis.base import Sample, Side, Window
from slipway.errors import BackendError
from slipway.spec.analysis import MetricSpec

KEPT_LATENCIES = 2000


def sample_to_json(sample: Sample) -> dict[str, Any]:
    ordered = sorted(sample.latencies_ms)
    if len(ordered) > KEPT_LATENCIES:
        last = len(ordered) - 1
        ordered = [ordered[round(i * last / (KEPT_LATENCIES - 1))] for i in range(KEPT_LATENCIES)]
    return {
        "requests": sample.requests,
        "errors": sample.errors,
        "latencies_ms": [round(v, 3) for v in ordered],
        "value": sample.value,
    }


def sample_from_json(data: Mapping[str, Any]) -> Sample:
    value = data.get("value")
    return Sample(
        requests=int(data.get("requests", 0)),
        errors=int(data.get("errors", 0)),
        latencies_ms=tuple(float(v) for v in data.get("latencies_ms", ())),
        value=float(value) if value is not None else None,
    )


class RecordedProvider:
    """The recorded sample of each metric, whatever the side and the window."""

    def __init__(self, samples: Mapping[str, Mapping[str, Any]], *, recorded_at: str) -> None:
        self._samples = {name: sample_from_json(data) for name, data in samples.items()}
        self._recorded_at = recorded_at

    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        sample = self._samples.get(metric.name)
        if sample is None:  # a spec changed under a resumed deployment
            raise BackendError(
                f"no baseline of {metric.name} was recorded before the deploy "
                f"(at {self._recorded_at})"
            )
        return sample
