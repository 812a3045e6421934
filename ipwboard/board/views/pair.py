"""The pair page (headline, charts, history, reproducibility, per-query drill-down) and its badge."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django_htmx.http import push_url

from evaluator import bins, perquery, system_info
from submissions.models import Evaluation, TracePreview
from submissions.services.perquery import items_at, open_results

from .. import badges, charts, columns, pagecache
from ..pairs import PairKey, best, other_classes, pair_evaluations, standing
from ..trends import parse_date
from .leaderboard import is_fragment

TEMPLATE = "board/pair.html"
QUERIES_PER_PAGE = 25
STATUSES = ("correct", "incorrect", "unscored")
# ``sort`` values of the drill-down (a leading "-": highest first) -> per-query file column.
SORTS = {"energy": "energy_j", "latency": "latency_s"}
SORT_CHOICES = (
    ("", "Dataset order"),
    ("-energy", "Energy, highest first"),
    ("energy", "Energy, lowest first"),
    ("-latency", "Latency, highest first"),
    ("latency", "Latency, lowest first"),
)


def _key(**kwargs: str) -> PairKey:
    return PairKey(
        kwargs["model"], kwargs["hardware"], kwargs["dataset"], kwargs["version"], kwargs["scope"]
    )


def _load(key: PairKey) -> list[Evaluation]:
    evaluations = list(pair_evaluations(key))
    if not evaluations:
        raise Http404("No ranked result for this pair.")
    return evaluations


def _evaluation_charts(e: Evaluation) -> dict[str, Any]:
    """Charts of one evaluation: immutable, so cached for good under its id."""
    key = f"board:pair-charts:v4:{e.pk}"
    found = cache.get(key)
    if found is not None:
        return found
    # Binned and downsampled by the worker at scoring time (``evaluator.bins``,
    # ``evaluator.trace_preview``): no request reads per-query values or the bundle's trace, so
    # the page weighs the same for 100 queries as for a million.
    binned = bins.usable(e.bins)
    trace = TracePreview.objects.filter(submission_id=e.submission_id).first()
    found = {
        "domains": charts.per_domain(e.per_domain or {}, "chart-domains"),
        "energy": charts.histogram(binned.get("energy_j"), "chart-energy", "Energy per query", "J"),
        "latency": charts.histogram(binned.get("latency_s"), "chart-latency", "Latency", "s"),
        "trace": charts.power_trace(trace.t_s, trace.power_w, "chart-trace") if trace else None,
        "trace_samples": trace.samples if trace else 0,
    }
    cache.set(key, found, None)
    return found


class _Rows:
    """A filtered, ordered view of an evaluation's per-query file for ``Paginator``: its length
    comes from the file's segment index, and slicing reads only that page's rows."""

    def __init__(self, name: str, domain: str, statuses: tuple[str, ...], sort: str) -> None:
        self.file = open_results(name) if name else None
        self.segments = self.file.select(domain, statuses) if self.file else []
        self.sort = sort

    def __len__(self) -> int:
        return sum(s.rows for s in self.segments)

    def __getitem__(self, page: slice) -> list[dict[str, Any]]:
        if self.file is None:
            return []
        start, stop = page.start or 0, page.stop if page.stop is not None else len(self)
        column = SORTS.get(self.sort.lstrip("-"), "")
        # The drill-down's registry cells the file has (files written before a column existed
        # lack it), besides the columns every page reads.
        present = set(self.file.file.schema_arrow.names)
        extra = [c.name for c in columns.DRILLDOWN if c.name in present]
        return self.file.page(
            self.segments,
            start,
            stop - start,
            sort=column,
            descending=self.sort.startswith("-"),
            columns=list(dict.fromkeys((*perquery.PAGE_COLUMNS, *extra))),
        ).rows


def drilldown(request: HttpRequest, e: Evaluation) -> dict[str, Any]:
    """A page of per-query results with their prompts, read from the evaluation's per-query
    file and the dataset's items file (``submissions.services.perquery``): the page reads a few
    row groups, whatever the number of queries."""
    wrong = request.GET.get("wrong") == "1"
    domain = request.GET.get("domain", "")[:100]
    status = request.GET.get("status", "")
    sort = request.GET.get("sort", "")
    sort = sort if sort.lstrip("-") in SORTS else ""
    statuses: tuple[str, ...] = ()
    if wrong:
        statuses = ("incorrect",)
    elif status in STATUSES:
        statuses = (status,)
    rows = _Rows(e.queries_file.name, domain, statuses, sort)
    paginator = Paginator(rows, QUERIES_PER_PAGE)  # type: ignore[arg-type]
    page = paginator.get_page(request.GET.get("qpage"))
    results = list(page.object_list)
    version = e.submission.dataset_version
    items = items_at(version.items_file.name if version else "", [r["position"] for r in results])
    state = {
        "run": request.GET.get("run", ""),
        "wrong": "1" if wrong else "",
        "status": status if status in STATUSES and not wrong else "",
        "domain": domain,
        "sort": sort,
    }
    return {
        "q_rows": [(r, items.get(r["position"])) for r in results],
        # A drill-down cell shows when some row of the page reports it.
        "q_columns": [
            c for c in columns.DRILLDOWN if any(r.get(c.name) is not None for r in results)
        ],
        "q_page": page,
        "q_state": state,
        "q_domains": sorted((e.per_domain or {}).keys()),
        "q_sorts": SORT_CHOICES,
        "q_base": urlencode({k: v for k, v in state.items() if v}),
    }


def pair(request: HttpRequest, **kwargs: str) -> HttpResponse:
    return pagecache.cached_response(request, "pair", lambda: _pair(request, **kwargs))


def _pair(request: HttpRequest, **kwargs: str) -> HttpResponse:
    key = _key(**kwargs)
    evaluations = _load(key)
    headline = best(evaluations)
    assert headline is not None
    wanted = request.GET.get("run", "")
    selected = next((e for e in evaluations if str(e.submission_id) == wanted), headline)
    context: dict[str, Any] = {"key": key, "selected": selected, "headline": headline}
    context.update(drilldown(request, selected))
    if is_fragment(request) and request.htmx.target == "drilldown":
        response = render(request, f"{TEMPLATE}#drilldown", context)
        query = context["q_base"]
        page = context["q_page"].number
        if page > 1:
            query = f"{query}&qpage={page}" if query else f"qpage={page}"
        return push_url(response, f"{request.path}?{query}" if query else request.path)
    s = selected.submission
    history = [
        {
            "date": (parse_date(e.measured) or e.created_at.date()).isoformat(),
            "ipw": e.ipw,
            "ipw_low": e.ipw_low,
            "ipw_high": e.ipw_high,
        }
        for e in evaluations
    ]
    badge_url = request.build_absolute_uri(key.badge_url())
    page_url = request.build_absolute_uri(key.url())
    context.update(
        {
            "evaluations": evaluations,
            "submission": s,
            "manifest": s.manifest or {},
            # Never the manifest's whole ``system``: host names, user names and paths stay out.
            "system_facts": system_info.labelled((s.manifest or {}).get("system")),
            "standing": standing(key),
            "other_classes": other_classes(key),
            "charts": _evaluation_charts(selected),
            "figures": columns.figures(selected),
            "history_cells": columns.on("history"),
            "history_chart": charts.history(history, "chart-history") if len(history) > 1 else None,
            "badge_url": badge_url,
            "page_url": page_url,
            "any_synthetic": any(e.submission.synthetic for e in evaluations),
        }
    )
    return render(request, TEMPLATE, context)


def badge(request: HttpRequest, **kwargs: str) -> HttpResponse:
    """SVG badge with the pair's best IPW and its rank in its own ranking context."""
    # Nothing user-specific in a badge: cached for everyone.
    return pagecache.cached_response(
        request, "badge", lambda: _badge(_key(**kwargs)), everyone=True
    )


def _badge(key: PairKey) -> HttpResponse:
    evaluations = list(pair_evaluations(key))
    headline = best(evaluations)
    status = 200
    if headline is None:
        svg, status = badges.render("IPW", "not ranked", colour="#6e7781"), 404
    else:
        place = standing(key)
        rank = f" · #{place.rank}{'=' if place.tied else ''} of {place.of}" if place else ""
        demo = " (demo)" if headline.submission.synthetic else ""
        right = f"{headline.ipw:.3g}/W{rank}{demo}"
        s = headline.submission
        svg = badges.render(
            "IPW",
            right,
            title=f"{s.model.name} on {s.hardware.label}: IPW {right}",
        )
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8", status=status)
    response["Cache-Control"] = "public, max-age=3600"
    # Embedded on other sites: allow that explicitly, and nothing in it may run.
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
