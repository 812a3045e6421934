"""Board pages. One view and one template serve a page and its htmx fragment."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from submissions.models import DatasetVersion, Submission

from . import queries

MEASUREMENT_SCOPES = (
    ("accelerator", "Accelerator only"),
    ("soc", "SoC package"),
    ("wall", "Whole system at the wall"),
)


def leaderboard(request: HttpRequest) -> HttpResponse:
    query = queries.BoardQuery.from_params(request.GET)
    rows = queries.with_ranks(list(queries.leaderboard(query)))
    context = {
        "query": query,
        "rows": rows,
        "columns": queries.SORTABLE,
        "datasets": DatasetVersion.objects.select_related("dataset"),
        "any_synthetic": any(row.evaluation.submission.synthetic for row in rows),
        "scope_choices": MEASUREMENT_SCOPES,
    }
    template = "board/leaderboard.html"
    if request.htmx and not request.htmx.boosted:
        template += "#table"
    return render(request, template, context)


def _visible_submissions(user: AnonymousUser | object) -> Q:
    if getattr(user, "is_staff", False):
        return Q()
    public = Q(status=Submission.Status.SCORED, hidden=False)
    if getattr(user, "is_authenticated", False):
        return public | Q(owner=user)
    return public


def submission_status(request: HttpRequest, pk: str) -> HttpResponse:
    submission = get_object_or_404(
        Submission.objects.select_related(
            "owner", "model", "hardware", "dataset_version__dataset", "current_evaluation"
        ).filter(_visible_submissions(request.user)),
        pk=pk,
    )
    if submission.withdrawn_at and submission.owner_id != getattr(request.user, "pk", None):
        raise Http404("withdrawn")
    context = {"submission": submission, "evaluation": submission.current_evaluation}
    template = "board/submission.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)
