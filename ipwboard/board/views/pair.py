"""The pair page (headline, charts, history, reproducibility, per-query drill-down) and its badge."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django_htmx.http import push_url

from submissions.models import DatasetItem, Evaluation, QueryResult, TracePreview

from .. import badges, charts, pagecache
from ..pairs import PairKey, best, pair_evaluations, standing
from ..trends import parse_date
from .leaderboard import is_fragment

TEMPLATE = "board/pair.html"
QUERIES_PER_PAGE = 25
STATUSES = ("correct", "incorrect", "unscored")


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
    key = f"board:pair-charts:v3:{e.pk}"
    found = cache.get(key)
    if found is not None:
        return found
    values = list(e.queries.values_list("energy_j", "latency_s"))
    # Downsampled by the worker at scoring time: no request reads the bundle's trace itself.
    trace = TracePreview.objects.filter(submission_id=e.submission_id).first()
    found = {
        "domains": charts.per_domain(e.per_domain or {}, "chart-domains"),
        "energy": charts.histogram([v[0] for v in values], "chart-energy", "Energy per query", "J"),
        "latency": charts.histogram([v[1] for v in values], "chart-latency", "Latency", "s"),
        "trace": charts.power_trace(trace.t_s, trace.power_w, "chart-trace") if trace else None,
        "trace_samples": trace.samples if trace else 0,
    }
    cache.set(key, found, None)
    return found


def drilldown(request: HttpRequest, e: Evaluation) -> dict[str, Any]:
    """A page of per-query results with their prompts (three queries, any page size)."""
    wrong = request.GET.get("wrong") == "1"
    domain = request.GET.get("domain", "")[:100]
    status = request.GET.get("status", "")
    rows = QueryResult.objects.filter(evaluation=e).order_by("position")
    if wrong:
        rows = rows.filter(status="incorrect")
    elif status in STATUSES:
        rows = rows.filter(status=status)
    if domain:
        rows = rows.filter(domain=domain)
    paginator = Paginator(rows, QUERIES_PER_PAGE)
    page = paginator.get_page(request.GET.get("qpage"))
    results = list(page.object_list)
    items = {
        item.item_id: item
        for item in DatasetItem.objects.filter(
            version_id=e.submission.dataset_version_id,
            item_id__in=[r.query_id for r in results],
        )
    }
    state = {
        "run": request.GET.get("run", ""),
        "wrong": "1" if wrong else "",
        "status": status if status in STATUSES and not wrong else "",
        "domain": domain,
    }
    return {
        "q_rows": [(r, items.get(r.query_id)) for r in results],
        "q_page": page,
        "q_state": state,
        "q_domains": sorted((e.per_domain or {}).keys()),
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
            "standing": standing(key),
            "charts": _evaluation_charts(selected),
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
