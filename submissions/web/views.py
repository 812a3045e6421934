"""Account pages (thin views over ``submissions.services``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import ApiToken, SigningKey, Submission


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    context = {
        "tokens": ApiToken.objects.filter(owner=request.user),
        "keys": SigningKey.objects.filter(owner=request.user),
        "submissions": Submission.objects.filter(owner=request.user).select_related(
            "model", "hardware"
        )[:50],
    }
    return render(request, "account/settings.html", context)
