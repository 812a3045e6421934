"""Staff pages: the review queue and moderation actions (all audited)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .. import services
from ..models import AuditLog, Submission
from ..services.accounts import STAFF_ACTIONS
from . import forms

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous: to the login page. Logged in but not staff: 403 (not a confusing re-login)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("staff only")
        return view(request, *args, **kwargs)

    return wrapper


@staff_required
def review_queue(request: HttpRequest) -> HttpResponse:
    context = {
        "held": services.review_queue()[:200],
        "hidden": Submission.objects.filter(hidden=True).select_related(
            "owner", "model", "hardware"
        )[:100],
        "audit": AuditLog.objects.select_related("actor").filter(action__startswith="submission.")[
            :100
        ],
        "actions": STAFF_ACTIONS,
    }
    return render(request, "account/review.html", context)


@staff_required
@require_POST
def moderate(request: HttpRequest, pk: str) -> HttpResponse:
    submission = get_object_or_404(Submission, pk=pk)
    form = forms.ModerateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown action.")
        return redirect("account:review")
    try:
        services.moderate_submission(
            submission, request.user, form.cleaned_data["action"], form.cleaned_data["note"]
        )
    except services.ActionError as error:
        messages.error(request, f"[{error.code}] {error.message}")
    else:
        messages.success(request, f"{form.cleaned_data['action']}: {submission.pk}")
    return redirect(request.POST.get("next") or "account:review")
