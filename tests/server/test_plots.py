"""The dashboard's plots: one per analysis metric (canary and baseline over the runs), the
canary's share of traffic, durations of a history — numbers as points, names escaped."""

from __future__ import annotations

import re

from slipway.server.plots import analysis_plots, duration_plot


def run(no: int, weight: int | None, canary: float, baseline: float | None) -> dict[str, object]:
    return {
        "run": no,
        "weight": weight,
        "measurements": [
            {"metric": "error_rate", "canary": canary, "baseline": baseline, "limit": 0.05}
        ],
    }


def points(svg: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(map(float, p.split(","))) for p in found.split()]  # type: ignore[misc]
        for found in re.findall(r'points="([^"]*)"', svg)
    ]


def test_each_metric_is_plotted_for_canary_and_baseline_and_the_weight_over_runs() -> None:
    plots = analysis_plots([run(1, 5, 0.0, 0.01), run(2, 25, 0.02, 0.01), run(3, 50, 0.04, None)])
    assert len(plots) == 2
    metric, weight = str(plots[0]), str(plots[1])
    assert "error_rate" in metric
    assert "max 0.05" in metric  # the threshold is plotted too, and tops the scale
    canary, baseline, limit = points(metric)
    assert len(canary) == 3 and len(baseline) == 2  # a missing baseline is no point
    assert len(limit) == 3 and len({y for _, y in limit}) == 1  # a constant threshold: flat
    assert canary[0][1] > canary[1][1] > canary[2][1]  # higher values, higher on the plot
    (shares,) = points(weight)
    assert [round(y, 1) for _, y in shares] == [
        92.4,
        78.0,
        60.0,
    ]  # 96 - share * 0.72: 0-100 % over the height


def test_names_are_escaped_and_nothing_to_show_is_no_plot() -> None:
    hostile = analysis_plots(
        [{"weight": None, "measurements": [{"metric": "<script>x</script>", "canary": 1}]}]
    )
    assert len(hostile) == 1 and "<script>" not in str(hostile[0])
    assert "&lt;script&gt;" in str(hostile[0])
    assert analysis_plots([]) == []
    assert str(duration_plot([{"duration_s": None}])) == ""
    assert "polyline" in str(duration_plot([{"duration_s": 3.0}, {"duration_s": 5.5}]))
