"""PromQL over Prometheus' HTTP API: the metrics a team already has.

The query of a metric is a template: ``{{version}}``, ``{{release}}``
(``<app>-<version>``), ``{{environment}}`` and ``{{servers}}`` (a regex of the
side's router slots, for HAProxy's exporter: ``server=~"{{servers}}"``) are
replaced for the canary and for its baseline in turn; in a flag rollout
``{{flag}}`` and ``{{variant}}`` too (``on`` for the canary, ``off`` for its
baseline: ``feature_flag_variant="{{variant}}"``). The query must give one
number (a scalar, or a vector whose values are summed); an empty vector is
"nothing measured" (inconclusive), not zero.

With ``at`` (a Unix time), every query is evaluated at that moment instead of now — the HTTP
API's ``time``, which is an ``offset`` of (now - at) on every selector of the query: how the
watch after promotion asks for the previous release's numbers as they were before the deploy.
"""

from __future__ import annotations

import math

import httpx

from slipway.analysis.base import Sample, Side, Window
from slipway.errors import BackendError
from slipway.spec.analysis import MetricSpec, PrometheusSpec


class PrometheusProvider:
    def __init__(
        self, spec: PrometheusSpec, *, app: str, environment: str, at: float | None = None
    ) -> None:
        self._spec = spec
        self._app = app
        self._environment = environment
        self._at = at

    def render(self, query: str, side: Side) -> str:
        values = {
            "version": side.version,
            "release": f"{self._app}-{side.version}",
            "environment": self._environment,
            "servers": "|".join(_regex_literal(s) for s in side.slots),
            "flag": side.flag or "",
            "variant": side.variant or "",
        }
        for key, value in values.items():
            query = query.replace("{{" + key + "}}", value)
        return query

    def measure(self, metric: MetricSpec, side: Side, window: Window) -> Sample:
        assert metric.query is not None
        query = self.render(metric.query, side)
        url = self._spec.url.rstrip("/") + "/api/v1/query"
        params = {"query": query} | ({"time": f"{self._at:.3f}"} if self._at is not None else {})
        try:
            answer = httpx.get(url, params=params, timeout=self._spec.timeout_s, trust_env=False)
            body = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise BackendError(f"Prometheus at {self._spec.url} did not answer: {exc}") from exc
        if body.get("status") != "success":
            raise BackendError(
                f"Prometheus refused `{query}`: {body.get('error', answer.status_code)}"
            )
        data = body["data"]
        if data["resultType"] == "scalar":
            values = [float(data["result"][1])]
        elif data["resultType"] == "vector":
            values = [float(item["value"][1]) for item in data["result"]]
        else:
            raise BackendError(f"`{query}` gives a {data['resultType']}, not a number")
        values = [v for v in values if not math.isnan(v)]
        if not values:
            return Sample()
        return Sample(value=sum(values))


def _regex_literal(name: str) -> str:
    """``name`` matched literally by a PromQL regex inside a double-quoted string.

    RE2 metacharacters get a backslash, itself escaped for the PromQL string (``\\.``);
    ``re.escape`` would also escape ``-``, which PromQL strings refuse.
    """
    return "".join("\\\\" + c if c in ".+*?()[]{}|^$\\" else c for c in name)
