"""The board's one column registry: every column a row of the board can show, declared once.

A column is declared here with its name, label, display format and unit, where it is read from
(a ``values()`` path relative to Evaluation), whether and how it sorts, its help text (the data
dictionary's description and the methodology's definition) and where it appears (``on``). The
leaderboard's headers, sort links and cells, the agentic page, the JSON API row and its OpenAPI
serializer, the board exports (CSV, JSON, Parquet) and their data dictionary, the pair page's
figures and history, compare's rows and charts, the submission page and the methodology iterate
it; none of them names a metric (``tests/test_columns.py`` fails if a template or module does).

Identity columns (model, hardware, dataset ...) are declared here too, for the exports, the API and
the sort keys; their table cells (links, badges) stay in the templates.

Where a column appears (``on``, space-separated):
  api     - a field of the leaderboard API row (and loaded into every table row)
  row     - loaded into every table row, not published by the API
  export  - a column of the board exports and their data dictionary
  table   - a metric cell of the leaderboard (and model and hardware pages) table
  agentic - a metric cell of the agentic track's table
  figure  - a figure of the pair page (grouped by ``group``), a row of compare
  history - a cell of the pair page's table of every submission of the pair
  chart   - a bar chart of compare

Per-query columns (the drill-down, the per-query download and its data dictionary) are
``QUERY_COLUMNS``: names and types from the per-query file's schema (``evaluator.perquery``), units
and descriptions from the bundle's column table (``evaluator.bundle.tables``) where the bundle
carries the column, from here where the board computes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import pyarrow as pa
from django.conf import settings

from evaluator import perquery
from evaluator.bundle.tables import OPTIONAL_QUERY_COLUMNS
from evaluator.bundle.tables import QUERY_COLUMNS as BUNDLE_QUERY_COLUMNS
from submissions.models import Evaluation

Type = Literal["string", "float", "int", "bool", "timestamp", "uuid", "list"]
Format = Literal["sig", "pct", "count", "params", "date", "text"]
PLACES = frozenset({"api", "row", "export", "table", "agentic", "figure", "history", "chart"})
RANKED_BY = "ipw"  # the column rows are ranked by (``queries``): its cells stand out
# Figure groups of the pair page, in order: (key, title). The first, the headline, always shows (a
# dash when missing); the others show what the run reports and list the rest as not reported.
GROUPS: tuple[tuple[str, str], ...] = (
    ("headline", ""),
    ("tokens", "Tokens per query"),
    ("phases", "Prefill and decode per query"),
    ("rails", "Rails and utilisation per query"),
    ("agentic", "Agentic tasks"),
)


@dataclass(frozen=True)
class Column:
    key: str  # the row key, export column and API field (Evaluation's attribute for a metric)
    label: str
    source: str  # ``values()`` path from Evaluation; "" when computed (``compute``)
    type: Type
    unit: str = ""  # the data dictionary's unit
    help: str = ""  # the data dictionary's description, the methodology's definition
    on: str = ""  # where it appears (see the module docstring)
    kind: Literal["identity", "metric"] = "metric"
    fmt: Format = "sig"
    suffix: str = ""  # shown after the number ("W"); a "/W" per-unit goes in the header instead
    sort: str = ""  # its ``?sort=`` key; "" when it does not sort
    higher_is_better: bool = False
    group: str = ""  # its figure group on the pair page
    # Second lines, as ``str.format`` templates over other columns' keys, each value formatted
    # by its own column (``{key:n}``: the number without its suffix, ``{key:n2}``: to two
    # significant figures); a part with a missing value is left out. ``note``: under a table
    # cell; ``detail``: under a figure.
    note: tuple[str, ...] = ()
    detail: tuple[str, ...] = ()
    task_label: str = ""  # the label on the agentic track, where a query is a task
    api_name: str = ""  # the API's (historical) field name when it is not ``key``
    compute: Callable[[Mapping[str, Any]], Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.on.split()) - PLACES
        if unknown:
            raise ValueError(f"column {self.key}: unknown places {sorted(unknown)}")

    @property
    def places(self) -> frozenset[str]:
        return frozenset(self.on.split())

    @property
    def api_key(self) -> str:
        return self.api_name or self.key

    @property
    def header(self) -> str:
        """A per-unit figure ("/W") carries its unit in the header, not in every cell."""
        return f"{self.label} {self.suffix}" if self.suffix.startswith("/") else self.label

    def label_on(self, place: str) -> str:
        return self.task_label if place == "agentic" and self.task_label else self.header


def _mean(name: str, label: str, suffix: str, group: str, **kwargs: Any) -> Column:
    """``mean_<name>``: the mean of an optional per-query column over the queries reporting it,
    described from the bundle's own column table."""
    column = _BUNDLE[name]
    return Column(
        f"mean_{name}",
        label,
        f"mean_{name}",
        "float",
        column.unit,
        f"Mean per query (per task on the agentic track), over the queries that report it, of: "
        f"{column.description}. Empty when the run reports none.",
        kwargs.pop("on", "api export figure"),
        group=group,
        suffix=suffix,
        **kwargs,
    )


_BUNDLE = {c.name: c for c in (*BUNDLE_QUERY_COLUMNS, *OPTIONAL_QUERY_COLUMNS)}
_S = "submission__"
_CI = "95% bootstrap confidence interval"


def _dataset_ref(row: Mapping[str, Any]) -> str:
    return f"{row['dataset_slug']}@{row['dataset_version']}"


def _permalink(row: Mapping[str, Any]) -> str:
    return f"{settings.SITE_URL}/submissions/{row['submission_id']}/"


# One line per column, so the registry reads as a table (ruff format would spread each over ten).
# fmt: off
COLUMNS: tuple[Column, ...] = (
    # --- identity (the export's historical order first) ---
    Column("submission_id", "Submission", "submission_id", "uuid", "", "Stable id of the submission (UUID).", "api export", "identity", "text", api_name="submission"),
    Column("permalink", "Permalink", "", "string", "", "The submission's public page.", "export", "identity", "text", compute=_permalink),
    Column("model", "Model", f"{_S}model__name", "string", "", "Model id as submitted (manifest model.id).", "api export", "identity", "text", sort="model"),
    Column("model_family", "Model family", f"{_S}model__family", "string", "", "Model family.", "export", "identity", "text"),
    Column("params_total_b", "Total params", f"{_S}model__params_total_b", "float", "1e9", "Total parameters.", "row export", "identity", "params"),
    Column("params_active_b", "Params", f"{_S}model__params_active_b", "float", "1e9", "Active parameters.", "row export", "identity", "params", sort="params"),
    Column("quantization", "Quant.", f"{_S}quantization", "string", "", "Weights quantization.", "row export", "identity", "text", sort="quant"),
    Column("engine", "engine", f"{_S}engine", "string", "", "Inference engine.", "row export", "identity", "text", sort="engine"),
    Column("hardware", "Hardware", f"{_S}hardware__label", "string", "", "Hardware label.", "api export", "identity", "text", sort="hardware"),
    Column("hardware_vendor", "Vendor", f"{_S}hardware__vendor", "string", "", "Hardware vendor.", "export", "identity", "text"),
    Column("hardware_class", "Hardware class", f"{_S}hardware__hw_class", "string", "", "local or cloud.", "row export", "identity", "text"),
    Column("accelerator", "Accelerator", f"{_S}hardware__accelerator", "string", "", "Accelerator name.", "export", "identity", "text"),
    Column("dataset", "Dataset", f"{_S}dataset_version__dataset__slug", "string", "", "Benchmark dataset.", "export", "identity", "text"),
    Column("dataset_version", "Dataset version", f"{_S}dataset_version__version", "string", "", "Dataset version.", "row export", "identity", "text"),
    Column("dataset_sha256", "Dataset checksum", f"{_S}dataset_version__sha256", "string", "", "Dataset version checksum.", "export", "identity", "text"),
    Column("measurement_scope", "Scope", f"{_S}measurement_scope", "string", "", "What was metered: accelerator, soc or wall. Never compare across scopes.", "api export", "identity", "text"),
    Column("measurement_method", "Method", f"{_S}measurement_method", "string", "", "How it was metered.", "api export", "identity", "text"),
    Column("sampling_period_s", "Sampling period", f"{_S}sampling_period_s", "float", "s", "Power sampling period.", "export", "identity"),
    Column("harness", "Harness", f"{_S}harness", "string", "", "Harness name and version.", "export", "identity", "text"),
    Column("submitter", "Submitter", f"{_S}owner__username", "string", "", "Submitting account.", "row export", "identity", "text", sort="submitter"),
    Column("organisation", "Organisation", f"{_S}organisation__slug", "string", "", "Credited organisation.", "export", "identity", "text"),
    # --- metrics ---
    Column("accuracy", "Accuracy", "accuracy", "float", "fraction", "Correct ÷ scored queries, re-scored by our servers from the raw responses with a pinned, versioned scorer. The bundle's own claim is only a cross-check.", "api export table agentic figure history chart", fmt="pct", sort="accuracy", higher_is_better=True, group="headline", note=("{n_correct}/{n_scored}",), detail=("{accuracy_low:n}–{accuracy_high}", "{n_correct}/{n_scored} scored of {n_queries}")),
    Column("accuracy_low", "Accuracy, low", "accuracy_low", "float", "fraction", f"{_CI} of accuracy, low.", "export", fmt="pct"),
    Column("accuracy_high", "Accuracy, high", "accuracy_high", "float", "fraction", f"{_CI} of accuracy, high.", "export", fmt="pct"),
    Column("ipw", "IPW", "ipw", "float", "1/W", "Intelligence per watt: accuracy ÷ mean over queries of P_q, where P_q = E_q ÷ t_q is the query's mean power. Rows are ranked by it.", "api export table agentic figure history chart", suffix="/W", sort="ipw", higher_is_better=True, group="headline", note=("{ipw_low:n2}–{ipw_high:n2}",), detail=("95% CI {ipw_low:n}–{ipw_high:n}",)),
    Column("ipw_low", "IPW, low", "ipw_low", "float", "1/W", f"{_CI} of IPW, low.", "api export", suffix="/W"),
    Column("ipw_high", "IPW, high", "ipw_high", "float", "1/W", f"{_CI} of IPW, high.", "api export", suffix="/W"),
    Column("ipj", "IPJ", "ipj", "float", "1/J", "Intelligence per joule: accuracy ÷ mean over queries of E_q.", "api export table figure", suffix="/J", sort="ipj", higher_is_better=True, group="headline", detail=("95% CI {ipj_low:n}–{ipj_high:n}",)),
    Column("ipj_low", "IPJ, low", "ipj_low", "float", "1/J", f"{_CI} of IPJ, low.", "export", suffix="/J"),
    Column("ipj_high", "IPJ, high", "ipj_high", "float", "1/J", f"{_CI} of IPJ, high.", "export", suffix="/J"),
    Column("mean_power_w", "Mean power", "mean_power_w", "float", "W", "Mean over queries of E_q ÷ t_q.", "api export table figure chart", suffix="W", sort="power", group="headline"),
    Column("mean_energy_j", "Energy / query", "mean_energy_j", "float", "J", "Mean over queries of E_q (per task on the agentic track, every turn and tool call included).", "api export table agentic figure history chart", suffix="J", sort="energy", group="headline", detail=("total {total_energy_j}", "{energy_per_1k_output_tokens_j} / 1k tokens"), task_label="Energy / task"),
    Column("total_energy_j", "Total energy", "total_energy_j", "float", "J", "Energy over all queries.", "export", suffix="J"),
    Column("energy_per_1k_output_tokens_j", "Energy / 1k output tokens", "energy_per_1k_output_tokens_j", "float", "J", "Total energy ÷ total output tokens × 1000.", "export", suffix="J"),
    Column("throughput_tok_s", "Throughput", "throughput_tok_s", "float", "tokens/s", "Total output tokens ÷ total latency.", "api export table figure", suffix="tok/s", sort="throughput", higher_is_better=True, group="headline"),
    Column("ttft_p50_s", "TTFT p50", "ttft_p50_s", "float", "s", "Time to first token, median.", "export", suffix="s"),
    Column("ttft_p95_s", "TTFT p95", "ttft_p95_s", "float", "s", "Time to first token, 95th percentile.", "export", suffix="s"),
    Column("latency_p50_s", "Latency p50", "latency_p50_s", "float", "s", "Median of t_q (of a task's whole duration on the agentic track).", "api export table agentic figure", suffix="s", sort="latency", group="headline", detail=("p95 {latency_p95_s}", "TTFT {ttft_p50_s:n} / {ttft_p95_s}"), task_label="Latency p50 / task"),
    Column("latency_p95_s", "Latency p95", "latency_p95_s", "float", "s", "Query latency, 95th percentile.", "export", suffix="s"),
    Column("n_queries", "Queries", "n_queries", "int", "", "Queries in the bundle.", "export", fmt="count"),
    Column("n_scored", "Scored", "n_scored", "int", "", "Queries the scorer could judge.", "api export", fmt="count"),
    Column("n_correct", "Correct", "n_correct", "int", "", "Queries judged correct.", "api export", fmt="count"),
    Column("claimed_accuracy", "Claimed accuracy", "claimed_accuracy", "float", "fraction", "Bundle's own claim.", "export", fmt="pct"),
    # --- identity, continued ---
    Column("scorer_version", "Scorer", "scorer_version", "string", "", "Pinned scorer version.", "export", "identity", "text"),
    Column("labels", "Labels", f"{_S}labels", "list", "", "Board labels (';'-separated in CSV).", "api export", "identity", "text"),
    Column("staff_reproduced", "Staff reproduced", f"{_S}staff_reproduced", "bool", "", "Reproduced by staff.", "export", "identity", "text"),
    Column("synthetic", "Synthetic", f"{_S}synthetic", "bool", "", "True for synthetic/demo rows that are not real measurements.", "api export", "identity", "text"),
    Column("submitted_at", "Submitted", f"{_S}created_at", "timestamp", "UTC", "Upload time.", "export", "identity", "date"),
    Column("scored_at", "Scored", f"{_S}finished_at", "timestamp", "UTC", "Scoring time.", "export", "identity", "date"),
    # --- added with issue 14 (after the historical columns: positional readers keep working) ---
    Column("ranking_class", "Ranking class", f"{_S}ranking_class", "string", "", "What the row is ranked within: the scope, qualified by energy attribution, basis and workload when they differ from the usual. Never compare across classes.", "api export", "identity", "text"),
    _mean("input_tokens", "Input tokens", "", "tokens", sort="input"),
    _mean("output_tokens", "Output tokens", "", "tokens"),
    _mean("reasoning_tokens", "Reasoning tokens", "", "tokens", sort="reasoning", higher_is_better=True),
    _mean("prefill_energy_j", "Prefill energy", "J", "phases"),
    _mean("decode_energy_j", "Decode energy", "J", "phases"),
    _mean("prefill_s", "Prefill time", "s", "phases"),
    _mean("decode_s", "Decode time", "s", "phases"),
    _mean("cpu_energy_j", "CPU energy", "J", "rails"),
    _mean("ane_energy_j", "Neural engine energy", "J", "rails"),
    _mean("gpu_utilization_pct", "GPU utilisation", "%", "rails"),
    _mean("turns", "Turns / task", "", "agentic", sort="turns", on="api export agentic figure"),
    _mean("tool_calls", "Tool calls / task", "", "agentic", sort="tools", on="api export agentic figure"),
    _mean("tool_s", "Tool time / task", "s", "agentic", sort="tool_time", on="api export agentic figure"),
    # --- the API's and the table's own ---
    Column("dataset_ref", "Dataset", "", "string", "", "Dataset and version as slug@version.", "api", "identity", "text", api_name="dataset", compute=_dataset_ref),
    Column("measured", "Measured", "board_entry__measured", "string", "", "When the run was measured (its window's start), else when it was uploaded.", "row", "identity", "date", sort="date", higher_is_better=True),
)
# fmt: on
# The identity cells of a ranked table, around its metric cells: (css class, sort keys sharing a
# cell). Pairs of related keys share a cell so the table fits a laptop screen.
LEAD: tuple[tuple[str, tuple[str, ...]], ...] = (("", ("model",)), ("", ("hardware",)))
TRAIL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("num", ("params",)),
    ("", ("quant", "engine")),
    ("", ("submitter", "date")),
)


@dataclass(frozen=True)
class _Views:
    """What the consumers iterate, derived from ``COLUMNS`` (again if a test replaces it)."""

    source: tuple[Column, ...]
    by_key: dict[str, Column]
    sorts: dict[str, Column]  # ``?sort=`` key -> column
    places: dict[str, tuple[Column, ...]]
    # What a table row loads: every API field, every table cell and the row-only columns.
    row: tuple[Column, ...]


_views: _Views | None = None


def _derived() -> _Views:
    global _views
    if _views is None or _views.source is not COLUMNS:
        _views = _Views(
            COLUMNS,
            {c.key: c for c in COLUMNS},
            {c.sort: c for c in COLUMNS if c.sort},
            {place: _ordered(place) for place in PLACES},
            tuple(c for c in COLUMNS if c.places & {"api", "row", "table", "agentic"} and c.source),
        )
    return _views


def _ordered(place: str) -> tuple[Column, ...]:
    """Registry order (the exports' and the API's); a page leads with what it ranks by."""
    members = tuple(c for c in COLUMNS if place in c.places)
    if place in ("api", "row", "export"):
        return members
    return tuple(sorted(members, key=lambda c: c.key != RANKED_BY))


def on(place: str) -> tuple[Column, ...]:
    """The columns that appear in ``place``, in registry order."""
    if place not in PLACES:
        raise ValueError(f"unknown place {place!r}")
    return _derived().places[place]


def by_key() -> dict[str, Column]:
    return _derived().by_key


def sorts() -> dict[str, Column]:
    return _derived().sorts


def row_columns() -> tuple[Column, ...]:
    return _derived().row


@dataclass(frozen=True)
class Header:
    css: str
    links: tuple[tuple[str, str], ...]  # (sort key, or "" for a column that does not sort; label)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.links)


def headers(place: str) -> tuple[Header, ...]:
    """The header cells of a ranked table showing ``place``'s metric cells."""
    by_sort = sorts()

    def cell(css: str, keys: tuple[str, ...]) -> Header:
        return Header(css, tuple((key, by_sort[key].label_on(place)) for key in keys))

    return (
        *(cell(css, keys) for css, keys in LEAD),
        *(Header("num", ((c.sort, c.label_on(place)),)) for c in on(place)),
        *(cell(css, keys) for css, keys in TRAIL),
    )


def value(row: Any, column: Column) -> Any:
    """A column's value in a table row (a dict, by key) or on an Evaluation (by source path)."""
    if column.compute is not None:
        return column.compute(row)
    if isinstance(row, dict):  # (not ``Mapping``: an ABC check costs a cell more than the rest)
        return row.get(column.key)
    for part in column.source.split("__"):
        row = getattr(row, part, None)
        if row is None:
            break
    return row


@cache
def nullable(source: str) -> bool:
    """Whether a source path can read as null (from the model: never declared twice)."""
    model: Any = Evaluation
    *path, name = source.split("__")
    for part in path:
        model = model._meta.get_field(part).related_model
    return bool(model._meta.get_field(name).null)


@dataclass(frozen=True)
class Figures:
    """The pair page's figures of one evaluation: the headline (always shown, a dash when
    missing), the other groups' reported figures, and the labels of those not reported."""

    headline: list[Column]
    more: list[tuple[str, list[Column]]]
    not_reported: list[str]


def headline() -> list[Column]:
    return [c for c in on("figure") if c.group == GROUPS[0][0]]


def figures(evaluation: Any) -> Figures:
    shown = on("figure")
    more: list[tuple[str, list[Column]]] = []
    missing: list[str] = []
    for key, title in GROUPS[1:]:
        members = [c for c in shown if c.group == key]
        reported = [c for c in members if value(evaluation, c) is not None]
        missing += [c.label for c in members if c not in reported]
        if reported:
            more.append((title, reported))
    return Figures(headline(), more, missing)


# --- per query -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryColumn:
    name: str
    type: str  # string | int | float | bool, from the per-query file's schema
    unit: str
    description: str
    label: str = ""  # set: a drill-down cell, shown when the page's rows report it
    suffix: str = ""
    fmt: Format = "sig"

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "type": self.type,
            "unit": self.unit,
            "description": self.description,
        }


# What the board writes itself (the rest are the bundle's columns, described by the bundle table).
_BOARD_QUERY: dict[str, tuple[str, str]] = {
    "submission_id": ("", "The submission."),
    "position": ("", "Order in the dataset."),
    "query_id": ("", "Dataset item id."),
    "domain": ("", "Item domain."),
    "method": ("", "Scoring method."),
    "status": ("", "correct, incorrect or unscored."),
    "extracted": ("", "Answer the scorer extracted."),
    "reason": ("", "Why the scorer decided so."),
    "power_w": ("W", "energy_j / latency_s."),
    "synthetic": ("", "True when the submission is synthetic demo data."),
}
# Drill-down cells: key -> (label, suffix, format), in the drill-down's order.
_DRILLDOWN: dict[str, tuple[str, str, Format]] = {
    "energy_j": ("Energy", "J", "sig"),
    "latency_s": ("Latency", "s", "sig"),
    "input_tokens": ("Input tokens", "", "count"),
    "reasoning_tokens": ("Reasoning tokens", "", "count"),
}


def _query_type(arrow: pa.DataType) -> str:
    if pa.types.is_integer(arrow):
        return "int"
    if pa.types.is_floating(arrow):
        return "float"
    return "bool" if pa.types.is_boolean(arrow) else "string"


def _query_column(f: pa.Field) -> QueryColumn:
    if f.name in _BOARD_QUERY:
        unit, description = _BOARD_QUERY[f.name]
    else:  # carried from the bundle, described by the bundle's column table
        unit, description = _BUNDLE[f.name].unit, _BUNDLE[f.name].description
    label, suffix, fmt = _DRILLDOWN.get(f.name, ("", "", "sig"))
    return QueryColumn(f.name, _query_type(f.type), unit, description, label, suffix, fmt)


QUERY_COLUMNS: tuple[QueryColumn, ...] = tuple(_query_column(f) for f in perquery.SCHEMA)
DRILLDOWN: tuple[QueryColumn, ...] = tuple(
    next(c for c in QUERY_COLUMNS if c.name == key) for key in _DRILLDOWN
)
