"""Trends, methodology and the submission status page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from evaluator.checks.physics import describe_rules
from evaluator.measurement_classes import METHODS as METHOD_TABLE
from submissions.models import Submission
from submissions.services.outcome import outcome

from .. import charts, columns, pagecache, trends, vocab


def _year(value: str | None, default: int, allowed: list[int]) -> int:
    try:
        year = int(value or "")
    except ValueError:
        return default
    return year if allowed and allowed[0] <= year <= allowed[-1] else default


def trends_page(request: HttpRequest) -> HttpResponse:
    """IPW over time within one ranking context (by default the most populated one)."""
    return pagecache.cached_response(request, "trends", lambda: _trends_page(request))


def _trends_page(request: HttpRequest) -> HttpResponse:
    contexts = trends.contexts()
    dataset = request.GET.get("dataset", "")[:100]
    scope = request.GET.get("scope", "")[:20]
    if (dataset, scope) not in {(d, s) for d, s, _ in contexts} and contexts:
        dataset, scope = contexts[0][0], contexts[0][1]
    axis = request.GET.get("axis", "release")
    if axis not in trends.AXES:
        axis = "release"
    context: dict[str, Any] = {
        "contexts": contexts,
        "dataset": dataset,
        "scope": scope,
        "axis": axis,
        "axes": trends.AXES,
        "axis_label": trends.AXES[axis],
    }
    if contexts:
        context.update(_trend_figures(dataset, scope, axis, request))
    return render(request, "board/trends.html", context)


def _trend_figures(dataset: str, scope: str, axis: str, request: HttpRequest) -> dict[str, Any]:
    pts = trends.points(dataset, scope)
    years = trends.years(pts, axis)
    start = _year(request.GET.get("from"), years[0] if years else 0, years)
    end = _year(request.GET.get("to"), years[-1] if years else 0, years)
    if start > end:
        start, end = end, start
    out: dict[str, Any] = {"points": pts, "years": years, "start": start, "end": end}
    release_series, release_fronts = trends.by_class(pts, "release")
    measured_series, measured_fronts = trends.by_class(pts, "measured")
    fronts = release_fronts if axis == "release" else measured_fronts
    out["improvements"] = trends.improvements(fronts, start, end) if years else []
    out["by_release"] = charts.trend(
        release_series,
        release_fronts,
        "trend-release",
        "IPW by model release date, with the best so far per hardware class",
        "Model release date",
    )
    out["by_measured"] = charts.trend(
        measured_series,
        measured_fronts,
        "trend-measured",
        "IPW by measurement date, with the best so far per hardware class",
        "Measured on",
    )
    front = trends.pareto_front(pts)
    out["pareto_chart"] = charts.pareto(
        [
            {"energy": p.energy, "accuracy": p.accuracy, "label": p.label, "group": p.hw_class}
            for p in pts
        ],
        [{"energy": p.energy, "accuracy": p.accuracy} for p in front],
        "trend-pareto",
    )
    out["front"] = front
    out["undated"] = sum(1 for p in pts if p.released is None)
    out["any_synthetic"] = any(p.synthetic for p in pts)
    return out


def methodology(request: HttpRequest) -> HttpResponse:
    return pagecache.cached_response(
        request,
        "methodology",
        lambda: render(
            request, "board/methodology.html", pagecache.versioned("methodology", "", _methodology)
        ),
    )


def _methodology() -> dict[str, Any]:
    scopes = vocab.schema_enum("measurement", "scope")
    methods = vocab.schema_enum("measurement", "method")
    return {
        # Every exported figure (its bounds are the CI entry's): the registry's help is the definition.
        "metrics": [
            c
            for c in columns.on("export")
            if c.kind == "metric" and not c.key.endswith(("_low", "_high"))
        ],
        "scopes": [(s, *vocab.SCOPES.get(s, (s, "Not described yet."))) for s in scopes],
        "methods": [(m, *vocab.METHODS.get(m, (m, "Not described yet."))) for m in methods],
        "badges": [(k, *v) for k, v in vocab.BADGES.items()],
        "codes": list(vocab.error_codes().items()),
        "physics": describe_rules(),
        "classes": [
            (
                m.key,
                m.label,
                ", ".join(sorted(m.families)) if m.families else "any hardware",
                ", ".join(s for s in vocab.SCOPES if s in m.scopes),
            )
            for m in METHOD_TABLE
        ],
    }


def submission_status(request: HttpRequest, pk: str) -> HttpResponse:
    # Public ones (the one rule), plus withdrawn and superseded public ones: their permalink
    # keeps a tombstone or leads to the replacement.
    submission = get_object_or_404(
        Submission.objects.select_related(
            "owner", "model", "hardware", "dataset_version__dataset", "current_evaluation"
        ).visible_to(request.user, permalinks=True),
        pk=pk,
    )
    if submission.superseded_by_id and not request.htmx:
        # Its owner corrected it: the permalink leads to the replacement (which says why).
        return redirect("board:submission", submission.superseded_by_id)
    is_owner = submission.owner_id == getattr(request.user, "pk", None)
    if submission.withdrawn_at and not (is_owner or request.user.is_staff):
        # A public tombstone: the permalink keeps working, the figures are gone.
        return render(request, "board/tombstone.html", {"submission": submission}, status=410)
    context = {
        "submission": submission,
        "evaluation": submission.current_evaluation,
        "figures": columns.headline(),
        "outcome": outcome(submission),  # the API's and the CLI's words
    }
    template = "board/submission.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)
