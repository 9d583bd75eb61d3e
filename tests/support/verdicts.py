"""What the tests of a canary answering 5xx all check of its outcome, in one place: the
deployment rolled back (exit 3) because analysis aborted on ``error_rate``, at the first
step's weight."""

from __future__ import annotations

from slipway.engine.outcome import Outcome
from slipway.store import Store
from slipway.store.analyses import AnalysisRun


def aborted_by_error_rate(outcome: Outcome, store: Store, *, weight: int = 10) -> list[AnalysisRun]:
    """Assert the abort; the deployment's analysis runs, for what a test checks next."""
    dep = outcome.deployment
    assert outcome.exit_code == 3 and dep.status == "rolled_back", dep.reason
    assert dep.reason is not None and "error_rate" in dep.reason
    runs = store.analysis_runs(dep.id)
    assert runs and runs[-1].verdict == "abort" and runs[-1].weight == weight
    return runs
