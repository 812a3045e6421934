"""Account pages (thin views over ``submissions.services``). Every form posts with a CSRF token."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .. import services
from ..api.throttles import SignupIPThrottle
from ..models import ApiToken, Organisation, SigningKey, Submission
from ..services.identity import KeyRegistrationError
from . import forms

NEW_SECRET = "account:new-token-secret"


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("account:settings")
    if request.method == "POST":
        # Its own per-IP limit (IPWBOARD_RATE_SIGNUPS_IP): accounts are what per-user limits
        # count, so creating them must not be free.
        throttle = SignupIPThrottle()
        if not throttle.allow_request(request, None):
            wait = int(throttle.wait() or 60)
            response = render(
                request,
                "account/signup.html",
                {"form": forms.SignupForm(), "throttled_s": wait},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        services.send_verification_email(user, request.build_absolute_uri)
        messages.success(
            request,
            f"Welcome! We mailed a link to {user.email}: open it to confirm your address "
            "(uploads need it). Then create an API token and register a signing key.",
        )
        return redirect("account:settings")
    return render(request, "account/signup.html", {"form": form})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link mailed at sign-up; it works without logging in (it is the proof)."""
    try:
        services.verify_email(token)
    except services.ActionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Thank you: your email address is verified.")
    return redirect("account:settings" if request.user.is_authenticated else "login")


@login_required
@require_POST
def verification_resend(request: HttpRequest) -> HttpResponse:
    try:
        services.send_verification_email(request.user, request.build_absolute_uri)
    except services.ActionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"We mailed a new link to {request.user.email}.")
    return redirect("account:settings")


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "tokens": ApiToken.objects.filter(owner=user),
        "keys": SigningKey.objects.filter(owner=user),
        "organisations": Organisation.objects.filter(members=user).prefetch_related("members"),
        "submissions": Submission.objects.filter(owner=user).select_related(
            "model", "hardware", "organisation"
        )[:100],
        # The secret is in the session for exactly one page view, then gone for good.
        "new_secret": request.session.pop(NEW_SECRET, None),
        "token_form": forms.TokenForm(),
        "key_form": forms.KeyForm(),
        "org_form": forms.OrganisationForm(),
        "email_verified": services.email_verified(user),
        "email_required": settings.IPWBOARD_REQUIRE_VERIFIED_EMAIL,
    }
    return render(request, "account/settings.html", context)


def _invalid(request: HttpRequest, form: object) -> HttpResponse:
    errors = getattr(form, "errors", {})
    messages.error(
        request, "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()) or "Invalid."
    )
    return redirect("account:settings")


# --- tokens ---------------------------------------------------------------------------------------


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = forms.TokenForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    token, secret = services.create_api_token(
        request.user, form.cleaned_data["name"], form.cleaned_data["scope"]
    )
    request.session[NEW_SECRET] = {"name": token.name, "secret": secret}
    return redirect("account:settings")


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, owner=request.user)
    services.revoke_api_token(token, request.user)
    messages.success(request, f"Revoked token {token.name}.")
    return redirect("account:settings")


# --- signing keys ---------------------------------------------------------------------------------


@login_required
@require_POST
def key_register(request: HttpRequest) -> HttpResponse:
    form = forms.KeyForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    try:
        key = services.register_signing_key(
            request.user, form.cleaned_data["public_key"], form.cleaned_data["name"]
        )
    except KeyRegistrationError as error:
        messages.error(request, f"[{error.code}] {error.message}")
    else:
        messages.success(request, f"Registered {key.fingerprint}.")
    return redirect("account:settings")


@login_required
@require_POST
def key_retire(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(SigningKey, pk=pk, owner=request.user)
    services.retire_signing_key(key, request.user)
    messages.success(request, f"Retired {key.fingerprint}.")
    return redirect("account:settings")


@login_required
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(SigningKey, pk=pk, owner=request.user)
    form = forms.RevokeKeyForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    services.revoke_signing_key(key, request.user, form.cleaned_data["compromised_at"])
    messages.success(request, f"Revoked {key.fingerprint}.")
    return redirect("account:settings")


# --- organisations --------------------------------------------------------------------------------


@login_required
@require_POST
def organisation_create(request: HttpRequest) -> HttpResponse:
    form = forms.OrganisationForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    try:
        org = services.create_organisation(request.user, form.cleaned_data["name"])
    except services.ActionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Created {org.name}.")
    return redirect("account:settings")


@login_required
@require_POST
def organisation_add_member(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_object_or_404(Organisation, slug=slug, members=request.user)
    form = forms.MemberForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    user = get_user_model().objects.filter(username=form.cleaned_data["username"]).first()
    if user is None:
        messages.error(request, "No such user.")
    else:
        services.add_organisation_member(org, request.user, user)
        messages.success(request, f"Added {user.get_username()} to {org.name}.")
    return redirect("account:settings")


@login_required
@require_POST
def organisation_leave(request: HttpRequest, slug: str) -> HttpResponse:
    org = get_object_or_404(Organisation, slug=slug, members=request.user)
    services.leave_organisation(org, request.user)
    return redirect("account:settings")


# --- submissions ----------------------------------------------------------------------------------


@login_required
@require_POST
def submission_withdraw(request: HttpRequest, pk: str) -> HttpResponse:
    submission = get_object_or_404(Submission, pk=pk, owner=request.user)
    form = forms.WithdrawForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.withdraw_submission(submission, request.user, reason)
    messages.success(
        request,
        f"Withdrew {submission.pk}; its permalink now shows a tombstone. Its run id stays spent: "
        "the same run cannot be submitted again.",
    )
    return redirect("account:settings")


@login_required
@require_POST
def submission_organisation(request: HttpRequest, pk: str) -> HttpResponse:
    submission = get_object_or_404(Submission, pk=pk, owner=request.user)
    form = forms.SubmissionOrganisationForm(request.POST)
    if not form.is_valid():
        return _invalid(request, form)
    slug = form.cleaned_data["organisation"]
    org = get_object_or_404(Organisation, slug=slug, members=request.user) if slug else None
    services.set_submission_organisation(submission, org, request.user)
    return redirect("account:settings")
