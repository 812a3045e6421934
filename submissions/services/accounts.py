"""Account and moderation writes: withdrawals, staff review actions and organisations.

Every action leaves an AuditLog row naming who did it, and every change to what the board shows
sends ``board_changed`` after commit (the board's caches and exports listen to it).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from ..models import AuditLog, Organisation, Submission
from ..models.identity import VerifiedEmail
from ..signals import board_changed


class ActionError(ValueError):
    """An account or moderation action that is not allowed; ``code`` is stable."""

    def __init__(self, code: str, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def _audit(actor: AbstractBaseUser | None, action: str, target: Any, **detail: Any) -> None:
    AuditLog.objects.create(actor=actor, action=action, target=str(target)[:200], detail=detail)


def _changed(submission_id: Any) -> None:
    transaction.on_commit(lambda: board_changed.send(Submission, submission_id=submission_id))


# --- owners ---------------------------------------------------------------------------------------


@transaction.atomic
def withdraw_submission(
    submission: Submission, actor: AbstractBaseUser, reason: str = ""
) -> Submission:
    """The owner takes a submission off the board. Idempotent; the permalink keeps a tombstone."""
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.owner_id != actor.pk:
        raise ActionError(
            "submission.not_owner", "Only the submitter can withdraw a submission.", 403
        )
    if locked.withdrawn_at is None:
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
        _audit(actor, "submission.withdraw", locked.pk, reason=reason[:500])
        _changed(locked.pk)
    submission.withdrawn_at = locked.withdrawn_at
    return locked


@transaction.atomic
def set_submission_organisation(
    submission: Submission, organisation: Organisation | None, actor: AbstractBaseUser
) -> Submission:
    """Attribute a submission to one of the owner's organisations (or to nobody)."""
    if submission.owner_id != actor.pk:
        raise ActionError("submission.not_owner", "Only the submitter can change this.", 403)
    if organisation is not None and not organisation.members.filter(pk=actor.pk).exists():
        raise ActionError(
            "organisation.not_member", "You can only credit organisations you belong to.", 403
        )
    submission.organisation = organisation
    submission.save(update_fields=["organisation"])
    _audit(
        actor,
        "submission.organisation",
        submission.pk,
        organisation=organisation.slug if organisation else None,
    )
    _changed(submission.pk)
    return submission


def create_organisation(owner: AbstractBaseUser, name: str) -> Organisation:
    name = name.strip()[:200]
    slug = slugify(name)[:100]
    if not slug:
        raise ActionError("organisation.name_invalid", "Give the organisation a name.")
    if Organisation.objects.filter(slug=slug).exists():
        raise ActionError("organisation.taken", f"An organisation called {name!r} exists.", 409)
    with transaction.atomic():
        org = Organisation.objects.create(slug=slug, name=name)
        org.members.add(owner)
        _audit(owner, "organisation.create", slug)
    return org


def add_organisation_member(
    organisation: Organisation, actor: AbstractBaseUser, user: AbstractBaseUser
) -> None:
    if not organisation.members.filter(pk=actor.pk).exists():
        raise ActionError("organisation.not_member", "Only members can add members.", 403)
    organisation.members.add(user)
    _audit(actor, "organisation.add_member", organisation.slug, user=user.get_username())


def leave_organisation(organisation: Organisation, actor: AbstractBaseUser) -> None:
    organisation.members.remove(actor)
    _audit(actor, "organisation.leave", organisation.slug)


# --- email verification ---------------------------------------------------------------------------

VERIFY_SALT = "ipwboard.verify-email"
VERIFY_MAX_AGE = timedelta(days=7)


def email_verified(user: Any) -> bool:
    """Whether ``user`` proved to receive mail at their current address."""
    email = getattr(user, "email", "") or ""
    return bool(email) and VerifiedEmail.objects.filter(user=user, email__iexact=email).exists()


def upload_refusal(user: Any) -> str | None:
    """Why ``user`` may not upload yet, or None. Production requires a verified email address
    (``IPWBOARD_REQUIRE_VERIFIED_EMAIL``): an account costs a confirmed mailbox, not one form."""
    if not settings.IPWBOARD_REQUIRE_VERIFIED_EMAIL or email_verified(user):
        return None
    return (
        "Verify your email address before uploading: follow the link we mailed to "
        f"{getattr(user, 'email', '') or 'your address'}, or send a new one from your account "
        "page."
    )


def send_verification_email(user: Any, absolute: Callable[[str], str]) -> None:
    """Mail ``user`` a link proving they receive mail at their current address; ``absolute``
    turns a path into a URL (``request.build_absolute_uri``)."""
    if not user.email:
        raise ActionError("account.email_missing", "Set an email address first.")
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFY_SALT)
    link = absolute(reverse("account:verify-email", args=[token]))
    send_mail(
        "Confirm your email address for IPW Board",
        f"Hello {user.get_username()},\n\nconfirm that this is your address by opening:\n\n"
        f"{link}\n\nThe link works for {VERIFY_MAX_AGE.days} days; uploading bundles "
        "needs a verified address.\n",
        None,
        [user.email],
    )
    _audit(user, "account.verification_sent", user.get_username())


def verify_email(token: str) -> Any:
    """Mark the address in ``token`` verified; returns the user. The token must be unexpired and
    name the user's current address (a link for an old address proves nothing now)."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise ActionError(
            "account.verification_expired", "This link has expired; send a new one."
        ) from None
    except signing.BadSignature:
        raise ActionError("account.verification_invalid", "This link is not valid.") from None
    user = get_user_model().objects.filter(pk=data.get("u")).first()
    if user is None or (user.email or "").lower() != str(data.get("e", "")).lower():
        raise ActionError(
            "account.verification_invalid",
            "This link is for another address than your account's; send a new one.",
        )
    VerifiedEmail.objects.update_or_create(user=user, defaults={"email": user.email})
    _audit(user, "account.email_verified", user.get_username())
    return user


# --- staff ----------------------------------------------------------------------------------------

STAFF_ACTIONS = ("hide", "restore", "reproduced", "unreproduced", "approve", "deny")


@transaction.atomic
def moderate_submission(
    submission: Submission, actor: AbstractBaseUser, action: str, note: str = ""
) -> Submission:
    """One staff action on a submission, audited. ``action`` is one of STAFF_ACTIONS."""
    if not getattr(actor, "is_staff", False):
        raise ActionError("permission.staff_only", "Only staff can moderate submissions.", 403)
    if action not in STAFF_ACTIONS:
        raise ActionError("moderation.unknown_action", f"Unknown action {action!r}.")
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    changes: dict[str, Any] = {}
    if action in ("hide", "restore"):
        changes["hidden"] = action == "hide"
    elif action in ("reproduced", "unreproduced"):
        changes["staff_reproduced"] = action == "reproduced"
    else:
        if locked.status != Submission.Status.SCORED:
            raise ActionError(
                "moderation.not_scored", "Only scored submissions can be approved or denied.", 409
            )
        changes["review"] = (
            Submission.Review.APPROVED if action == "approve" else Submission.Review.DENIED
        )
    before = {field: getattr(locked, field) for field in changes}
    for field, value in changes.items():
        setattr(locked, field, value)
    locked.save(update_fields=list(changes))
    _audit(
        actor,
        f"submission.{action}",
        locked.pk,
        note=note[:500],
        before={k: str(v) for k, v in before.items()},
    )
    _changed(locked.pk)
    return locked


def review_queue() -> Any:
    """Held for staff review: scored with a ``warn`` check (the pipeline sets review PENDING)."""
    return (
        Submission.objects.filter(status=Submission.Status.SCORED, review=Submission.Review.PENDING)
        .select_related("owner", "model", "hardware", "dataset_version__dataset")
        .order_by("created_at")
    )


# --- queue estimates (read-only helpers shared by the API and the status page) -------------------


def queue_position(submission: Submission) -> int | None:
    if submission.status != Submission.Status.QUEUED:
        return None
    return (
        Submission.objects.filter(
            status=Submission.Status.QUEUED, created_at__lt=submission.created_at
        ).count()
        + 1
    )


def median_processing_seconds(window: int = 50, days: int = 7) -> float | None:
    """Median wall time of the last ``window`` finished evaluations (None without history)."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        Submission.objects.filter(
            finished_at__isnull=False, started_at__isnull=False, finished_at__gte=since
        )
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:window]
    )
    durations = [(end - start).total_seconds() for start, end in rows if end >= start]
    return statistics.median(durations) if durations else None


def estimated_wait_seconds(position: int | None, median_s: float | None) -> float | None:
    """Median recent processing time x queue position; None when not queued or no history."""
    if position is None or median_s is None:
        return None
    return round(median_s * position, 1)
