"""Plotly figures, built server-side and shipped as JSON data blocks.

The page carries each figure in a ``<script type="application/json">`` block (never executed, so a
CSP without 'unsafe-inline' is fine) and static/js/board.js draws it. Two layers keep untrusted
text (model names, submitter names) harmless: labels are HTML-escaped before plotly sees them
(plotly renders a small subset of HTML in labels), and the JSON is escaped for the script block.

Figures are plain plotly.js dicts, not ``plotly.graph_objects``: building a ``go.Figure`` with
``template="plotly_white"`` deep-copies and validates the whole template on every figure (~40 ms
each, most of a chart page's time). The template is resolved once, at import, and serialised once;
each figure's JSON splices that string in.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import plotly.io as pio
from django.utils.safestring import SafeString, mark_safe

from evaluator import bins

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}
# The layout template every figure uses, serialised once (it is the same bytes for every figure).
# Only what bar and scatter figures on cartesian axes read: the board draws nothing else (the basic
# plotly bundle has nothing else), and the whole template (colour scales, 3-D scenes, maps) is
# 6.5 kB per chart, 5.6 kB of which no chart reads.
_WHITE = pio.templates["plotly_white"].to_plotly_json()
_UNUSED_LAYOUT = ("polar", "ternary", "scene", "geo", "coloraxis", "colorscale")
TEMPLATE_JSON = json.dumps(
    {
        "data": {k: v for k, v in _WHITE["data"].items() if k in ("bar", "scatter")},
        "layout": {k: v for k, v in _WHITE["layout"].items() if k not in _UNUSED_LAYOUT},
    },
    separators=(",", ":"),
)

Figure = dict[str, Any]


@dataclass(frozen=True)
class Chart:
    id: str  # DOM id of the data block; the drawing div points at it
    json: SafeString  # the figure, escaped for a <script type="application/json"> block
    label: str  # accessible name of the chart
    summary: str = ""  # one sentence for screen readers and for people without JavaScript


def t(text: object) -> str:
    """Untrusted text for a plotly label."""
    return html.escape(str(text), quote=False)


def tick(name: str) -> str:
    """A "model on hardware" axis label on two lines (escaped first, then our own <br>)."""
    return t(name).replace(" on ", "<br>on ", 1)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: Any) -> Any:
    """NaN and infinities become null, as plotly's own encoder does (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    return value


def _dumps(figure: Any) -> str:
    try:
        return json.dumps(figure, default=_default, allow_nan=False, separators=(",", ":"))
    except ValueError:  # a NaN or an infinity somewhere: clean the whole figure (rare)
        return json.dumps(_finite(figure), default=_default, separators=(",", ":"))


def to_chart(fig: Figure, chart_id: str, label: str, summary: str = "") -> Chart:
    """``fig`` is ``{"data": [...], "layout": {...}}``; the template is spliced into the layout."""
    data = _dumps(fig.get("data", []))
    layout = _dumps({k: v for k, v in fig.get("layout", {}).items() if k != "template"})
    rest = "}" if layout == "{}" else "," + layout[1:]
    text = f'{{"data":{data},"layout":{{"template":{TEMPLATE_JSON}{rest}}}'
    return Chart(chart_id, mark_safe(text.translate(_JSON_ESCAPES)), label, summary)


def _layout(*, height: int = 320, **extra: Any) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 60, "r": 16, "t": 16, "b": 48},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        "hoverlabel": {"namelength": -1},
        "colorway": list(PALETTE),
        **extra,
    }


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, **extra}


def per_domain(per_domain: dict[str, dict[str, Any]], chart_id: str) -> Chart | None:
    rows = sorted(
        ((name, d) for name, d in per_domain.items() if d.get("accuracy") is not None),
        key=lambda item: item[1]["accuracy"],
    )
    if not rows:
        return None
    bar = {
        "type": "bar",
        "x": [d["accuracy"] * 100 for _, d in rows],
        "y": [t(name) for name, _ in rows],
        "orientation": "h",
        "text": [f"{d['accuracy'] * 100:.0f}% (n={d.get('n_scored', '?')})" for _, d in rows],
        "textposition": "auto",
        "marker": {"color": PALETTE[0]},
        "hovertemplate": "%{y}: %{x:.1f}%<extra></extra>",
    }
    layout = _layout(
        height=max(200, 60 + 34 * len(rows)),
        showlegend=False,
        xaxis=_axis("Accuracy (%)", range=[0, 100]),
    )
    best = rows[-1]
    return to_chart(
        {"data": [bar], "layout": layout},
        chart_id,
        "Accuracy by domain",
        f"Best domain: {best[0]} at {best[1]['accuracy'] * 100:.0f}%.",
    )


_STATUS_STYLE = {  # label and colour of each status in a stacked histogram
    "correct": ("correct", PALETTE[0]),
    "incorrect": ("wrong", PALETTE[1]),
    "unscored": ("unscored", "#8c959f"),
}


def _sig(values: Sequence[float], digits: int = 4) -> list[float]:
    """Rounded for the page: bin positions need no 17 digits."""
    return [float(f"{v:.{digits}g}") for v in values]


def _log_ticks(lo: float, hi: float) -> dict[str, Any]:
    """Ticks at 1, 2 and 5 times each power of ten (only the powers past three decades) for an
    axis whose coordinate is log10 of the value."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    values = [m * 10.0**k for k in range(first, last + 1) for m in steps]
    shown = [v for v in values if lo <= v <= hi] or [lo, hi]
    return {
        "range": [math.log10(lo), math.log10(hi)],
        "tickvals": [round(math.log10(v), 4) for v in shown],
        "ticktext": [f"{v:,.0f}" if v >= 1 else f"{v:g}" for v in shown],
    }


def histogram(h: dict[str, Any] | None, chart_id: str, label: str, unit: str) -> Chart | None:
    """A histogram drawn from the worker's bins (``evaluator.bins``): one bar trace per status,
    stacked, so the page's size does not depend on the number of queries."""
    if not h or not h.get("n"):
        return None
    log = h["scale"] == "log"
    edges = _sig(h["edges"])
    ranges = [list(pair) for pair in pairwise(edges)]
    centres = bins.centres(h)
    # Log-spaced bins are drawn on a linear axis of log10(value), labelled in values: plotly
    # sizes bars on a log axis in linear units, which draws log bins as slivers in wrong places.
    x = [round(math.log10(c), 4) for c in centres] if log else _sig(centres)
    data = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": h["counts"][status],
            "customdata": ranges,
            "marker": {"color": colour},
            "hovertemplate": f"%{{customdata[0]:.3g}}–%{{customdata[1]:.3g}} {unit}: "
            f"%{{y}} {name}<extra></extra>",
        }
        for status, (name, colour) in _STATUS_STYLE.items()
        if status in h["counts"]
    ]
    axis = _axis(f"{label} ({unit}{', log scale' if log else ''})")
    if log:
        axis.update(_log_ticks(h["edges"][0], h["edges"][-1]))
    layout = _layout(
        height=280,
        showlegend=len(data) > 1,
        # Above the plot, in stacking order: below it, it collides with the axis title on phones.
        legend={
            "orientation": "h",
            "traceorder": "normal",
            "x": 1,
            "xanchor": "right",
            "y": 1.02,
            "yanchor": "bottom",
        },
        margin={"l": 60, "r": 16, "t": 36, "b": 48},
        barmode="stack",
        bargap=0.05,
        xaxis=axis,
        yaxis=_axis("Queries"),
    )
    missing = f"; {h['missing']} without a value" if h.get("missing") else ""
    return to_chart(
        {"data": data, "layout": layout},
        chart_id,
        f"Distribution of {label.lower()}",
        f"{h['n']} queries, median {h['summary']['p50']:.3g} {unit}{missing}.",
    )


def power_trace(t_s: Sequence[float], power_w: Sequence[float], chart_id: str) -> Chart:
    line = {
        "type": "scatter",
        "x": list(t_s),
        "y": list(power_w),
        "mode": "lines",
        "line": {"width": 1, "color": PALETTE[1]},
        "hovertemplate": "%{x:.1f} s: %{y:.1f} W<extra></extra>",
    }
    layout = _layout(
        height=280,
        showlegend=False,
        xaxis=_axis("Time since start (s)"),
        yaxis=_axis("Power (W)", rangemode="tozero"),
    )
    peak = max(power_w) if len(power_w) else 0
    return to_chart(
        {"data": [line], "layout": layout},
        chart_id,
        "Power trace of the run",
        f"Peak {peak:.0f} W.",
    )


def history(points: Sequence[dict[str, Any]], chart_id: str) -> Chart | None:
    """IPW of every submission of one pair over time, with 95% intervals."""
    if not points:
        return None
    line = {
        "type": "scatter",
        "x": [p["date"] for p in points],
        "y": [p["ipw"] for p in points],
        "mode": "markers+lines",
        "marker": {"size": 9, "color": PALETTE[0]},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": [p["ipw_high"] - p["ipw"] for p in points],
            "arrayminus": [p["ipw"] - p["ipw_low"] for p in points],
        },
        "hovertemplate": "%{x|%Y-%m-%d}: IPW %{y:.3g}/W<extra></extra>",
    }
    layout = _layout(height=260, showlegend=False, yaxis=_axis("IPW (per W)", rangemode="tozero"))
    return to_chart(
        {"data": [line], "layout": layout},
        chart_id,
        "IPW of this pair over time",
        f"{len(points)} submission(s) over time.",
    )


def compare_metric(
    names: Sequence[str],
    values: Sequence[float],
    chart_id: str,
    label: str,
    unit: str,
    low: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
) -> Chart:
    bar: dict[str, Any] = {
        "type": "bar",
        "x": [tick(n) for n in names],
        "y": list(values),
        "marker": {"color": [PALETTE[i % len(PALETTE)] for i in range(len(names))]},
        "hovertemplate": f"%{{x}}: %{{y:.3g}} {unit}<extra></extra>",
    }
    if low is not None and high is not None:
        bar["error_y"] = {
            "type": "data",
            "symmetric": False,
            "array": [h - v for v, h in zip(values, high, strict=True)],
            "arrayminus": [v - lo for v, lo in zip(values, low, strict=True)],
        }
    layout = _layout(
        height=300,
        showlegend=False,
        yaxis=_axis(f"{label} ({unit})" if unit else label, rangemode="tozero"),
        xaxis={"automargin": True},
    )
    return to_chart({"data": [bar], "layout": layout}, chart_id, f"{label} side by side")


def _percent(value: float | None) -> float | None:
    return None if value is None else value * 100


def compare_domains(
    names: Sequence[str], domains: Sequence[dict[str, dict[str, Any]]], chart_id: str
) -> Chart | None:
    all_domains = sorted({d for per in domains for d in per})
    if not all_domains:
        return None
    data = [
        {
            "type": "bar",
            "name": t(name),
            "x": all_domains,
            "y": [_percent((per.get(d) or {}).get("accuracy")) for d in all_domains],
            "marker": {"color": PALETTE[index % len(PALETTE)]},
            "hovertemplate": "%{x}: %{y:.1f}%<extra>%{fullData.name}</extra>",
        }
        for index, (name, per) in enumerate(zip(names, domains, strict=True))
    ]
    layout = _layout(height=340, barmode="group", yaxis=_axis("Accuracy (%)", range=[0, 100]))
    return to_chart({"data": data, "layout": layout}, chart_id, "Accuracy by domain, side by side")


def compare_boxes(
    names: Sequence[str],
    summaries: Sequence[dict[str, float] | None],
    chart_id: str,
    label: str,
    unit: str,
) -> Chart | None:
    """Box plots from the worker's summaries (``evaluator.bins``), drawn with bar and scatter
    traces (the basic plotly bundle has no box trace): a bar from the 25th to the 75th
    percentile, the median as a line across it, whiskers from the 5th to the 95th percentile."""
    drawn = [(i, n, q) for i, (n, q) in enumerate(zip(names, summaries, strict=True)) if q]
    if not drawn:
        return None
    ticks = [tick(n) for _, n, _ in drawn]
    colours = [PALETTE[i % len(PALETTE)] for i, _, _ in drawn]
    qs = [q for _, _, q in drawn]
    box = {
        "type": "bar",
        "x": ticks,
        "base": _sig([q["p25"] for q in qs]),
        "y": _sig([q["p75"] - q["p25"] for q in qs]),
        "width": 0.5,
        "marker": {"color": colours, "opacity": 0.45, "line": {"color": colours, "width": 1.5}},
        "hoverinfo": "skip",
    }
    median = {
        "type": "scatter",
        "mode": "markers",
        "x": ticks,
        "y": _sig([q["p50"] for q in qs]),
        # An open symbol is stroked in marker.color; dark on every box colour.
        "marker": {"symbol": "line-ew-open", "size": 36, "color": "#24292f", "line": {"width": 3}},
        "error_y": {
            "type": "data",
            "symmetric": False,
            "array": _sig([q["p95"] - q["p50"] for q in qs]),
            "arrayminus": _sig([q["p50"] - q["p5"] for q in qs]),
            "color": "#57606a",
            "thickness": 1.5,
            "width": 10,
        },
        "customdata": [_sig([q["p5"], q["p25"], q["p75"], q["p95"]]) for q in qs],
        "hovertemplate": f"%{{x}}<br>median %{{y:.3g}} {unit}<br>"
        f"middle half %{{customdata[1]:.3g}}–%{{customdata[2]:.3g}} {unit}<br>"
        f"5th–95th percentile %{{customdata[0]:.3g}}–%{{customdata[3]:.3g}} {unit}<extra></extra>",
    }
    layout = _layout(
        height=320,
        showlegend=False,
        yaxis=_axis(f"{label} ({unit})", rangemode="tozero"),
        xaxis={"automargin": True},
    )
    return to_chart(
        {"data": [box, median], "layout": layout},
        chart_id,
        f"Distribution of {label.lower()}, side by side",
        "Boxes span the middle half of the queries (25th to 75th percentile), the line is the "
        "median, whiskers reach the 5th and 95th percentiles.",
    )


def trend(
    series: dict[str, list[dict[str, Any]]],
    frontiers: dict[str, list[tuple[Any, float]]],
    chart_id: str,
    label: str,
    x_title: str,
) -> Chart | None:
    """IPW points per hardware class over a date axis, with each class's best-so-far frontier."""
    if not any(series.values()):
        return None
    data: list[dict[str, Any]] = []
    for index, (name, points) in enumerate(sorted(series.items())):
        colour = PALETTE[index % len(PALETTE)]
        data.append(
            {
                "type": "scatter",
                "x": [p["x"] for p in points],
                "y": [p["ipw"] for p in points],
                "mode": "markers",
                "name": t(name),
                "marker": {"size": 9, "color": colour, "line": {"width": 1, "color": "#fff"}},
                "text": [t(p["label"]) for p in points],
                "hovertemplate": "%{text}<br>%{x|%Y-%m-%d}: IPW %{y:.3g}/W<extra></extra>",
            }
        )
        frontier = frontiers.get(name) or []
        if frontier:
            data.append(
                {
                    "type": "scatter",
                    "x": [x for x, _ in frontier],
                    "y": [y for _, y in frontier],
                    "mode": "lines",
                    "line": {"shape": "hv", "color": colour, "width": 2, "dash": "dot"},
                    "name": t(f"{name}: best so far"),
                    "hoverinfo": "skip",
                }
            )
    layout = _layout(
        height=360, xaxis=_axis(x_title), yaxis=_axis("IPW (per W)", rangemode="tozero")
    )
    return to_chart({"data": data, "layout": layout}, chart_id, label)


def pareto(
    points: Sequence[dict[str, Any]], front: Sequence[dict[str, Any]], chart_id: str
) -> Chart | None:
    if not points:
        return None
    data: list[dict[str, Any]] = []
    classes = sorted({p["group"] for p in points})
    for index, group in enumerate(classes):
        members = [p for p in points if p["group"] == group]
        data.append(
            {
                "type": "scatter",
                "x": [p["energy"] for p in members],
                "y": [p["accuracy"] * 100 for p in members],
                "mode": "markers",
                "name": t(group),
                "marker": {"size": 10, "color": PALETTE[index % len(PALETTE)]},
                "text": [t(p["label"]) for p in members],
                "hovertemplate": "%{text}<br>%{x:.3g} J/query, %{y:.1f}%<extra></extra>",
            }
        )
    if front:
        data.append(
            {
                "type": "scatter",
                "x": [p["energy"] for p in front],
                "y": [p["accuracy"] * 100 for p in front],
                "mode": "lines",
                "line": {"shape": "hv", "color": "#57606a", "width": 2, "dash": "dash"},
                "name": "Pareto frontier",
                "hoverinfo": "skip",
            }
        )
    layout = _layout(
        height=380,
        xaxis=_axis("Energy per query (J, log scale)", type="log"),
        yaxis=_axis("Accuracy (%)", range=[0, 100]),
    )
    return to_chart(
        {"data": data, "layout": layout},
        chart_id,
        "Accuracy against energy per query",
        f"{len(points)} pairs; {len(front)} on the Pareto frontier "
        "(no other pair is both more accurate and cheaper per query).",
    )
