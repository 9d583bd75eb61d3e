"""Analysis: measure a new release against its baseline while it takes traffic, and judge."""

from slipway.analysis.analysis import Analysis, RunResult, make_judge
from slipway.analysis.base import Judge, MetricResult, Provider, Sample, Side, Window
from slipway.analysis.judges import StatisticalJudge, ThresholdJudge

__all__ = [
    "Analysis",
    "Judge",
    "MetricResult",
    "Provider",
    "RunResult",
    "Sample",
    "Side",
    "StatisticalJudge",
    "ThresholdJudge",
    "Window",
    "make_judge",
]
