"""Compare two to four pairs side by side: figures in aligned rows, charts on the same axes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from evaluator import bins
from submissions.models import Evaluation

from .. import charts, pagecache
from .. import columns as registry
from ..pairs import PairKey, best, pair_choices
from ..queries import ROW_RELATED, measured, ranked_submissions

MAX_PAIRS = 4


def parse_tokens(request: HttpRequest) -> list[PairKey]:
    """``?pairs=a,b`` or ``?pairs=a&pairs=b`` (what a form of checkboxes sends); deduplicated."""
    keys: list[PairKey] = []
    for value in request.GET.getlist("pairs"):
        for token in value.split(","):
            key = PairKey.parse(token)
            if key is not None and key not in keys:
                keys.append(key)
    return keys


@dataclass(frozen=True)
class Column:
    key: PairKey
    evaluation: Evaluation
    name: str  # "model on hardware", short enough for an axis label

    @property
    def submission(self) -> Any:
        return self.evaluation.submission

    def remove_params(self, keys: list[PairKey]) -> str:
        return urlencode({"pairs": ",".join(k.token for k in keys if k != self.key)})


def _best_of(keys: list[PairKey]) -> dict[PairKey, Evaluation]:
    """The best evaluation of each pair, in one query for all of them."""
    if not keys:
        return {}
    condition = reduce(or_, (Q(**key.filter()) for key in keys))
    rows = (
        Evaluation.objects.filter(ranked_submissions())
        .filter(condition)
        .annotate(measured=measured())
        .select_related(*ROW_RELATED)
    )
    grouped: dict[PairKey, list[Evaluation]] = defaultdict(list)
    for e in rows:
        grouped[PairKey.of(e.submission)].append(e)
    return {key: found for key in keys if (found := best(grouped.get(key, [])))}


def compare(request: HttpRequest) -> HttpResponse:
    return pagecache.cached_response(request, "compare", lambda: _compare(request))


def _compare(request: HttpRequest) -> HttpResponse:
    requested = parse_tokens(request)
    too_many = len(requested) > MAX_PAIRS
    keys = requested[:MAX_PAIRS]
    found = _best_of(keys)
    missing = [key for key in keys if key not in found]
    keys = [key for key in keys if key in found]
    columns = [
        Column(
            key,
            found[key],
            f"{found[key].submission.model.name} on {found[key].submission.hardware.label}",
        )
        for key in keys
    ]
    context: dict[str, Any] = {
        "columns": columns,
        "keys": keys,
        "too_many": too_many,
        "missing": missing,
        "choices": sorted(
            (c for c in pair_choices() if PairKey.parse(c[0]) not in keys), key=lambda c: c[2]
        ),
        "current": ",".join(k.token for k in keys),
        "any_synthetic": any(c.submission.synthetic for c in columns),
        "mixed_scopes": len({(k.dataset, k.version, k.scope) for k in keys}) > 1,
        "charts": _charts(columns) if len(columns) >= 2 else [],
        # The registry's figures, but those none of the pairs reports.
        "rows": [
            row
            for row in registry.on("figure")
            if any(registry.value(c.evaluation, row) is not None for c in columns)
        ],
    }
    return render(request, "board/compare.html", context)


def _charts(columns: list[Column]) -> list[charts.Chart]:
    names = [c.name for c in columns]
    es = [c.evaluation for c in columns]
    # The worker's per-metric summaries (``evaluator.bins``): no per-query value is read.
    summaries = {
        metric: [bins.usable(e.bins).get(metric, {}).get("summary") for e in es]
        for metric in bins.METRICS
    }
    out: list[charts.Chart | None] = [_bars(names, es, c) for c in registry.on("chart")]
    out += [
        charts.compare_domains(names, [e.per_domain or {} for e in es], "cmp-domains"),
        charts.compare_boxes(
            names, summaries["energy_j"], "cmp-energy-dist", "Energy per query", "J"
        ),
        charts.compare_boxes(names, summaries["latency_s"], "cmp-latency-dist", "Latency", "s"),
    ]
    return [chart for chart in out if chart is not None]


def _bars(names: list[str], es: list[Evaluation], column: registry.Column) -> charts.Chart | None:
    """A registry column side by side, with its 95% interval where the registry has one
    (``<key>_low`` / ``<key>_high``); a fraction in percent."""
    values = [registry.value(e, column) for e in es]
    if any(v is None for v in values):
        return None
    scale, unit = (100.0, "%") if column.fmt == "pct" else (1.0, column.unit)
    by_key = registry.by_key()
    low_column = by_key.get(f"{column.key}_low")
    high_column = by_key.get(f"{column.key}_high")
    low = high = None
    if low_column and high_column:
        low = [registry.value(e, low_column) * scale for e in es]
        high = [registry.value(e, high_column) * scale for e in es]
    return charts.compare_metric(
        names, [v * scale for v in values], f"cmp-{column.key}", column.label, unit, low, high
    )
