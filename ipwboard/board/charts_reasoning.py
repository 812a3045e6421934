"""The reasoning page's figures: IPW (with its 95% interval) against reasoning tokens per query,
and on agentic rankings against tool calls per task (``reasoning`` selects the points).

Built like every board figure (``charts``): plain plotly dicts with escaped labels, one point per
pair, one trace per device class so like is seen beside like. Points of simulated runs are drawn
as open markers (and say so on hover); the page says so in words too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from .charts import PALETTE, Chart, _axis, _layout, _sig, t, to_chart
from .reasoning import Point, Ranking

_LEGEND_ABOVE = {  # below the plot, a legend collides with the axis title on phones
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "y": 1.02,
    "yanchor": "bottom",
}


def _scatter(
    points: Sequence[Point],
    x_of: Callable[[Point], float],
    x_title: str,
    x_hover: str,  # plotly's hover text for x, e.g. "%{x:,.0f} reasoning tokens per query"
    chart_id: str,
    label: str,
    summary: str,
) -> Chart:
    by_class: dict[str, list[Point]] = defaultdict(list)
    for point in points:
        by_class[point.device_class or "unknown"].append(point)
    data: list[dict[str, Any]] = []
    for index, (name, members) in enumerate(sorted(by_class.items())):
        colour = PALETTE[index % len(PALETTE)]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": t(name),
                "x": _sig([x_of(p) for p in members]),
                "y": _sig([p.ipw for p in members]),
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": _sig([p.ipw_high - p.ipw for p in members], 3),
                    "arrayminus": _sig([p.ipw - p.ipw_low for p in members], 3),
                    "color": colour,
                    "thickness": 1.2,
                    "width": 4,
                },
                "marker": {
                    "size": 10,
                    "color": colour,
                    "symbol": ["circle-open" if p.synthetic else "circle" for p in members],
                    "line": {"width": 1.5, "color": colour},
                },
                "text": [t(p.label + (" (synthetic)" if p.synthetic else "")) for p in members],
                "customdata": [_sig([p.ipw_low, p.ipw_high, p.accuracy * 100], 3) for p in members],
                "hovertemplate": f"%{{text}}<br>{x_hover}<br>"
                "IPW %{y:.3g}/W (95%: %{customdata[0]:.3g}–%{customdata[1]:.3g})<br>"
                "accuracy %{customdata[2]:.1f}%<extra></extra>",
            }
        )
    layout = _layout(
        height=360,
        showlegend=True,
        legend=_LEGEND_ABOVE,
        margin={"l": 60, "r": 16, "t": 40, "b": 52},
        xaxis=_axis(x_title, range=_x_range([x_of(p) for p in points])),
        yaxis=_axis("IPW (per W)", rangemode="tozero"),
    )
    return to_chart({"data": data, "layout": layout}, chart_id, label, summary)


def _x_range(values: Sequence[float]) -> list[float]:
    """From a little left of zero: a run that reasons not at all sits at 0, and on the axis's
    edge its marker would be half hidden."""
    high = max(values) or 1.0
    return [-0.04 * high, 1.06 * high]


def _summary(points: Sequence[Point], x_of: Callable[[Point], float], unit: str, fmt: str) -> str:
    """One sentence for screen readers and readers without JavaScript."""
    best = max(points, key=lambda p: p.ipw)
    if len(points) == 1:
        return f"1 pair: {best.label}, {x_of(best):{fmt}} {unit}, IPW {best.ipw:.3g}/W."
    low, high = f"{min(map(x_of, points)):{fmt}}", f"{max(map(x_of, points)):{fmt}}"
    return (
        f"{len(points)} pairs from {low} to {high} {unit}; the highest IPW, {best.ipw:.3g}/W, "
        f"is {best.label} at {x_of(best):{fmt}}."
    )


def reasoning_chart(ranking: Ranking, chart_id: str) -> Chart | None:
    points = ranking.reasoning
    if not points:
        return None
    per = "task" if ranking.agentic else "query"

    def x_of(p: Point) -> float:
        return p.reasoning_tokens or 0.0

    return _scatter(
        points,
        x_of,
        f"Reasoning tokens per {per} (mean)",
        f"%{{x:,.0f}} reasoning tokens per {per}",
        chart_id,
        f"IPW against reasoning tokens per {per}",
        _summary(points, x_of, f"reasoning tokens per {per}", ",.0f"),
    )


def tools_chart(ranking: Ranking, chart_id: str) -> Chart | None:
    points = ranking.tools
    if not points:
        return None

    def x_of(p: Point) -> float:
        return p.tool_calls or 0.0

    return _scatter(
        points,
        x_of,
        "Tool calls per task (mean)",
        "%{x:.1f} tool calls per task",
        chart_id,
        "IPW against tool calls per task",
        _summary(points, x_of, "tool calls per task", ".1f"),
    )
