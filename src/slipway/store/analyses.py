"""Analysis runs: every measurement and verdict of a canary or blue-green analysis.

Recorded as it happens, so ``slipway logs`` can show why a release was
rejected (which metric, canary against baseline, the threshold or p-value) and
a benchmark can replay the measurements through other judges.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from slipway.store.base import StoreBase
from slipway.store.tables import analysis_runs


@dataclass(frozen=True)
class AnalysisRun:
    id: int
    deployment_id: str
    analysis: str
    run_no: int
    at: str
    canary_version: str
    baseline_version: str | None
    weight: int | None
    verdict: str
    summary: str
    measurements: list[dict[str, Any]]


class AnalysesMixin(StoreBase):
    def record_analysis(
        self,
        deployment_id: str,
        *,
        analysis: str,
        run_no: int,
        canary_version: str,
        baseline_version: str | None,
        weight: int | None,
        verdict: str,
        summary: str,
        measurements: Sequence[Mapping[str, Any]],
    ) -> None:
        with self._write() as conn:
            conn.execute(
                insert(analysis_runs).values(
                    deployment_id=deployment_id,
                    analysis=analysis,
                    run_no=run_no,
                    at=self.now(),
                    canary_version=canary_version,
                    baseline_version=baseline_version,
                    weight=weight,
                    verdict=verdict,
                    summary=summary,
                    measurements=json.dumps(list(measurements), sort_keys=True, default=str),
                )
            )

    def analysis_runs(self, deployment_id: str) -> list[AnalysisRun]:
        query = select(analysis_runs).where(analysis_runs.c.deployment_id == deployment_id)
        with self._read() as conn:
            return [
                AnalysisRun(**{**r._asdict(), "measurements": json.loads(r.measurements)})
                for r in conn.execute(query.order_by(analysis_runs.c.id))
            ]
