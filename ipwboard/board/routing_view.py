"""Presenting a stored routing analysis: the reader's choices, the rows, the charts, the exports.

Reads ``RoutingAnalysis`` rows only (``routing`` computes them in a worker). A page request does
no more than pick a row by the URL's choices and reshape its JSON.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import F

from . import charts
from .exports import neutralise
from .models import RoutingAnalysis
from .routing import DEFAULT_FLOOR, DEFAULT_LOCAL, FLOORS, LOCAL_SETS

POLICY_LABELS = {
    "strongest_remote": "Everything to the strongest non-local pair",
    "best_local": "Everything to the best local pair",
    "oracle": "Oracle (upper bound: knows the answers)",
    "by_domain": "By domain (best IPJ within the floor)",
    "floor": "Cheapest assignment meeting the floor",
}
LOCAL_COLOUR, REMOTE_COLOUR, POLICY_COLOUR = "#009E73", "#0072B2", "#D55E00"


@dataclass(frozen=True)
class Choice:
    dataset: str  # "slug@version"
    scope: str  # ranking class
    local: str
    floor: float

    def params(self, **changes: Any) -> str:
        values = {
            "dataset": self.dataset,
            "scope": self.scope,
            "local": self.local,
            "floor": f"{self.floor:g}",
        }
        values.update({k: (f"{v:g}" if isinstance(v, float) else v) for k, v in changes.items()})
        return "?" + urlencode(values)


def contexts() -> list[tuple[str, str, int]]:
    """(dataset param, ranking class, pairs) of every stored context, most pairs first."""
    rows = (
        RoutingAnalysis.objects.filter(local_set=DEFAULT_LOCAL)
        .annotate(slug=F("dataset_version__dataset__slug"), ver=F("dataset_version__version"))
        .values_list("slug", "ver", "ranking_class", "pairs")
    )
    found = [(f"{slug}@{ver}", rc, n) for slug, ver, rc, n in rows]
    return sorted(found, key=lambda c: (-c[2], c[0], c[1]))


def choose(params: Any, known: list[tuple[str, str, int]]) -> Choice | None:
    """The reader's choices from the URL, each falling back to its default."""
    if not known:
        return None
    dataset, scope = str(params.get("dataset", ""))[:120], str(params.get("scope", ""))[:80]
    if (dataset, scope) not in {(d, s) for d, s, _ in known}:
        dataset, scope = known[0][0], known[0][1]
    local = str(params.get("local", ""))
    if local not in {s.key for s in LOCAL_SETS}:
        local = DEFAULT_LOCAL
    try:
        floor = float(params.get("floor", DEFAULT_FLOOR))
    except (TypeError, ValueError):
        floor = DEFAULT_FLOOR
    if floor not in FLOORS:
        floor = DEFAULT_FLOOR
    return Choice(dataset, scope, local, floor)


def stored(choice: Choice) -> RoutingAnalysis | None:
    slug, _, version = choice.dataset.partition("@")
    return (
        RoutingAnalysis.objects.filter(
            dataset_version__dataset__slug=slug,
            dataset_version__version=version,
            ranking_class=choice.scope,
            local_set=choice.local,
        )
        .only("result", "synthetic", "pairs", "computed_at")
        .first()
    )


def policies(result: dict[str, Any], floor: float) -> list[dict[str, Any]]:
    """The policies shown for a floor, labelled, with their routed pairs named."""
    names = [p["label"] for p in result["pairs"]]
    rows = []
    for p in result["policies"]:
        if p.get("floor") is not None and float(p["floor"]) != floor:
            continue
        row = dict(p)
        row["label"] = POLICY_LABELS.get(p["kind"] if p["kind"] != "baseline" else p["id"], p["id"])
        if "pair" in p:
            row["routes_to"] = names[p["pair"]]
        if "assignment" in p:
            grouped: dict[int, list[str]] = {}
            for domain, j in p["assignment"].items():
                grouped.setdefault(j, []).append(domain)
            # Most domains first: the pair that takes most of the work leads.
            row["routes"] = [
                (names[j], ds) for j, ds in sorted(grouped.items(), key=lambda kv: -len(kv[1]))
            ]
        row["on"] = "evaluate half" if p["queries"] == "evaluate" else "all queries"
        rows.append(row)
    return rows


def coverage_chart(result: dict[str, Any]) -> charts.Chart | None:
    per = result["coverage"]["per_domain"]
    if not per:
        return None
    domains = list(per)
    series = (
        ("any_local", "Some local pair right", LOCAL_COLOUR),
        ("best_local", "Best single local pair right", "#56B4E9"),
        ("any_pair", "Some pair right (any hardware)", "#999999"),
    )
    data = [
        {
            "type": "bar",
            "name": name,
            "x": [charts.t(d) for d in domains],
            "y": [None if per[d][key] is None else round(100 * per[d][key], 2) for d in domains],
            "marker": {"color": colour},
            "hovertemplate": "%{x}: %{y:.1f}%<extra>" + name + "</extra>",
        }
        for key, name, colour in series
    ]
    layout = charts._layout(
        height=380,
        barmode="group",
        yaxis=charts._axis("Share of scorable queries (%)", range=[0, 100]),
        xaxis={"tickangle": -45, "automargin": True},
        # Above the plot: below it, the legend would sit on the slanted domain names.
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"l": 60, "r": 16, "t": 40, "b": 16},
    )
    any_local = result["coverage"]["any_local"]
    summary = (
        f"Across all domains, {100 * any_local:.1f}% of scorable queries are answered correctly "
        "by at least one local pair."
        if any_local is not None
        else "No local pair under this choice."
    )
    return charts.to_chart(
        {"data": data, "layout": layout}, "routing-coverage", "Coverage by domain", summary
    )


def tradeoff_chart(result: dict[str, Any], shown: list[dict[str, Any]]) -> charts.Chart:
    """Mean energy per query (log) against accuracy: every pair, and each policy shown."""
    pairs = result["pairs"]
    data = []
    for local, name, colour in ((True, "Local pair", LOCAL_COLOUR), (False, "Non-local pair", REMOTE_COLOUR)):  # fmt: skip
        group = [p for p in pairs if p["local"] == local and p["mean_energy_j"]]
        if group:
            data.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": name,
                    "x": [p["mean_energy_j"] for p in group],
                    "y": [round(100 * p["accuracy"], 2) for p in group],
                    "text": [charts.t(p["label"]) for p in group],
                    "marker": {"color": colour, "size": 8, "opacity": 0.75},
                    "hovertemplate": "%{text}<br>%{y:.1f}% at %{x:.3g} J/query<extra></extra>",
                }
            )
    policy = [p for p in shown if p.get("mean_energy_j")]
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": "Routing policy",
            "x": [p["mean_energy_j"] for p in policy],
            "y": [round(100 * p["accuracy"], 2) for p in policy],
            "text": [charts.t(p["id"]) for p in policy],
            "textposition": "top center",
            "marker": {"color": POLICY_COLOUR, "size": 12, "symbol": "diamond"},
            "error_y": {
                "type": "data",
                "symmetric": False,
                "array": [_err(p, 1) for p in policy],
                "arrayminus": [_err(p, 0) for p in policy],
            },
            "hovertemplate": "%{text}: %{y:.1f}% at %{x:.3g} J/query<extra></extra>",
        }
    )
    layout = charts._layout(
        height=400,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        margin={"l": 60, "r": 16, "t": 40, "b": 48},
        xaxis=charts._axis("Mean energy per query (J, log scale)", type="log"),
        yaxis=charts._axis("Accuracy (%)"),
    )
    return charts.to_chart(
        {"data": data, "layout": layout},
        "routing-tradeoff",
        "Energy against accuracy: single pairs and routing policies",
        "Each dot is a ranked pair sending it every query; each diamond is a routing policy.",
    )


def _err(policy: dict[str, Any], side: int) -> float | None:
    ci = policy.get("accuracy_ci") or [None, None]
    if ci[side] is None:
        return None
    return round(abs(100 * (ci[side] - policy["accuracy"])), 3)


# --- exports --------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "row_type", "id", "label", "device_class", "local", "queries", "floor", "accuracy",
    "accuracy_low", "accuracy_high", "coverage", "total_energy_j", "mean_energy_j", "mean_power_w",
    "ipw", "ipw_low", "ipw_high", "ipj", "ipj_low", "ipj_high", "local_share",
    "saving_vs_strongest_remote", "saving_vs_best_local", "routes_to", "synthetic",
)  # fmt: skip


def export_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    synthetic = any(p["synthetic"] for p in result["pairs"])
    names = [p["label"] for p in result["pairs"]]
    for p in result["policies"]:
        routes = names[p["pair"]] if "pair" in p else ""
        if "assignment" in p:
            routes = "; ".join(f"{d}: {names[j]}" for d, j in p["assignment"].items())
        rows.append(
            {
                "row_type": "policy", "id": p["id"], "label": p["id"], "device_class": "",
                "local": None, "queries": p["queries"], "floor": p.get("floor"),
                "accuracy": p["accuracy"], "accuracy_low": p["accuracy_ci"][0],
                "accuracy_high": p["accuracy_ci"][1], "coverage": None,
                "total_energy_j": p["total_energy_j"], "mean_energy_j": p["mean_energy_j"],
                "mean_power_w": p["mean_power_w"], "ipw": p["ipw"], "ipw_low": p["ipw_ci"][0],
                "ipw_high": p["ipw_ci"][1], "ipj": p["ipj"], "ipj_low": p["ipj_ci"][0],
                "ipj_high": p["ipj_ci"][1], "local_share": p["local_share"],
                "saving_vs_strongest_remote": p["savings"].get("vs_strongest_remote"),
                "saving_vs_best_local": p["savings"].get("vs_best_local"),
                "routes_to": routes, "synthetic": synthetic,
            }
        )  # fmt: skip
    for p in result["pairs"]:
        rows.append(
            {
                **dict.fromkeys(EXPORT_COLUMNS),
                "row_type": "pair", "id": p["key"], "label": p["label"],
                "device_class": p["device_class"], "local": p["local"], "queries": "all",
                "accuracy": p["accuracy"], "coverage": p["coverage"],
                "total_energy_j": p["total_energy_j"], "mean_energy_j": p["mean_energy_j"],
                "mean_power_w": p["mean_power_w"], "ipw": p["ipw"], "ipj": p["ipj"],
                "local_share": 1.0 if p["local"] else 0.0, "synthetic": p["synthetic"],
            }
        )  # fmt: skip
    return rows


def to_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[c] is None else neutralise(row[c]) for c in EXPORT_COLUMNS])
    return out.getvalue().encode()


def to_parquet(rows: list[dict[str, Any]]) -> bytes:
    text = {"row_type", "id", "label", "device_class", "queries", "routes_to"}
    flags = {"local", "synthetic"}
    schema = pa.schema(
        [
            (c, pa.string() if c in text else pa.bool_() if c in flags else pa.float64())
            for c in EXPORT_COLUMNS
        ]
    )
    table = pa.Table.from_pylist([{c: r[c] for c in EXPORT_COLUMNS} for r in rows], schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()
