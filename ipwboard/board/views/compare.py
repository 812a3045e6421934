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
    out = [
        charts.compare_metric(
            names,
            [e.ipw for e in es],
            "cmp-ipw",
            "IPW",
            "per W",
            [e.ipw_low for e in es],
            [e.ipw_high for e in es],
        ),
        charts.compare_metric(
            names,
            [e.accuracy * 100 for e in es],
            "cmp-accuracy",
            "Accuracy",
            "%",
            [e.accuracy_low * 100 for e in es],
            [e.accuracy_high * 100 for e in es],
        ),
        charts.compare_metric(
            names, [e.mean_energy_j for e in es], "cmp-energy", "Energy per query", "J"
        ),
        charts.compare_metric(names, [e.mean_power_w for e in es], "cmp-power", "Mean power", "W"),
        charts.compare_domains(names, [e.per_domain or {} for e in es], "cmp-domains"),
        charts.compare_boxes(
            names, summaries["energy_j"], "cmp-energy-dist", "Energy per query", "J"
        ),
        charts.compare_boxes(names, summaries["latency_s"], "cmp-latency-dist", "Latency", "s"),
    ]
    return [chart for chart in out if chart is not None]
