"""Synthetic requests sent straight to a side's instances: smoke tests that measure.

Before a blue-green switch the new set takes no user traffic, so nothing else
can be measured on it; the probe sends its own requests (``requests`` per run,
spread over the side's slots) and reports their success rate and latency. The
slots' addresses come from the router, which knows where every slot listens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from slipway.analysis.base import Sample, Side, Window
from slipway.errors import BackendError
from slipway.spec.analysis import MetricSpec

TIMEOUT_S = 5.0


class ProbeProvider:
    def __init__(self, addresses: Callable[[], Mapping[str, tuple[str, int]]]) -> None:
        self._addresses = addresses

    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        where = self._addresses()
        targets = [where[slot] for slot in side.slots if slot in where]
        if not targets:
            raise BackendError(f"no address known for the slots of {side.version}")
        errors = 0
        latencies = []
        with httpx.Client(timeout=TIMEOUT_S, trust_env=False) as client:
            for i in range(metric.requests):
                host, port = targets[i % len(targets)]
                host = f"[{host}]" if ":" in host else host
                began = time.perf_counter()
                try:
                    status = client.get(f"http://{host}:{port}{metric.path}").status_code
                except httpx.HTTPError:
                    status = 599
                latencies.append((time.perf_counter() - began) * 1000)
                errors += status >= 500
        return Sample(requests=metric.requests, errors=errors, latencies_ms=tuple(latencies))
