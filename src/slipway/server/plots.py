"""Small SVG plots for the dashboard, drawn on the server (no script, no library, no CDN):
what people would rather look at than read — each analysis metric on canary and baseline
run after run, the canary's share of traffic over the runs, the durations of a history.

Only numbers and escaped text reach the SVG; a plot with nothing to show is no plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 360, 120, 24
COLOURS = {
    "canary": "#b42318",
    "baseline": "#1d5fa8",
    "limit": "#57606a",
    "weight": "#9a6700",
    "duration": "#1d5fa8",
}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _points(values: Sequence[float | None], top: float) -> str:
    """``x,y`` pairs across the plot's width; missing values are skipped."""
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)
    scale = (HEIGHT - 2 * PAD) / top if top > 0 else 0.0
    return " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - v * scale:.1f}"
        for i, v in enumerate(values)
        if v is not None
    )


def _frame(title: str, top: float, lines: Sequence[tuple[str, Sequence[float | None]]]) -> Markup:
    drawn = [
        f'<polyline fill="none" stroke="{COLOURS[name]}" stroke-width="2" '
        f'points="{_points(values, top)}"><title>{escape(name)}</title></polyline>'
        for name, values in lines
        if any(v is not None for v in values)
    ]
    if not drawn:
        return Markup("")
    legend = " · ".join(
        f"{escape(name)}" for name, values in lines if any(v is not None for v in values)
    )
    return Markup(
        f'<figure class="plot"><svg class="plot" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#8c959f"/>'
        f'<text x="{PAD}" y="14" font-size="11">{escape(title)} (max {top:.4g})</text>'
        + "".join(drawn)
        + f"</svg><figcaption>{legend}</figcaption></figure>"
    )


def analysis_plots(runs: Sequence[dict[str, Any]]) -> list[Markup]:
    """One plot per metric: canary, baseline and the threshold over the runs; then the
    canary's weight."""
    metrics: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        for m in run.get("measurements", []):
            if isinstance(m.get("metric"), str):
                metrics.setdefault(m["metric"], []).append(m)
    plots = []
    for name, found in metrics.items():
        canary = [_number(m.get("canary")) for m in found]
        baseline = [_number(m.get("baseline")) for m in found]
        limit = [_number(m.get("limit")) for m in found]  # the threshold, run by run
        top = max([v for v in canary + baseline + limit if v is not None] or [0.0])
        lines = [("canary", canary), ("baseline", baseline), ("limit", limit)]
        plots.append(_frame(name, top, lines))
    weights = [_number(r.get("weight")) for r in runs]
    plots.append(_frame("canary's share of traffic, %", 100.0, [("weight", weights)]))
    return [p for p in plots if p]


def duration_plot(deployments: Sequence[dict[str, Any]]) -> Markup:
    """Durations of a page of history, oldest on the left."""
    durations = [_number(d.get("duration_s")) for d in reversed(deployments)]
    top = max([v for v in durations if v is not None] or [0.0])
    return _frame("deployment duration, s", top, [("duration", durations)])
