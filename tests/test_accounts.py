"""Accounts: sign-up, password reset, tokens, keys, organisations, withdrawal and staff review."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from submissions import services
from submissions.models import ApiToken, AuditLog, Organisation, SigningKey, Submission
from submissions.signals import board_changed
from tests.conftest import Persona, Signer, make_signer
from tests.test_api_support import scored


def _board(client: Any) -> list[str]:
    return [str(row["submission"]) for row in client.get("/api/v1/leaderboard/").json()]


def test_signup_login_logout(db: None) -> None:
    client = Client()
    page = client.get("/account/signup/")
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    response = client.post(
        "/account/signup/",
        {
            "username": "carol",
            "email": "carol@example.org",
            "password1": "a long unusual passphrase 42",
            "password2": "a long unusual passphrase 42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert client.get("/account/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/account/").status_code == 302
    assert client.login(username="carol", password="a long unusual passphrase 42")


def test_password_reset_by_console_email(alice: Persona) -> None:
    client = Client()
    assert client.get("/accounts/password_reset/").status_code == 200
    client.post("/accounts/password_reset/", {"email": "alice@example.org"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    assert b"new password" in form.content.lower()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "fresh secret words 99", "new_password2": "fresh secret words 99"},
    )
    assert done.status_code == 302
    assert Client().login(username="alice", password="fresh secret words 99")


def test_token_is_shown_once_stored_hashed_and_revocable(alice: Persona) -> None:
    response = alice.client.post("/account/tokens/", {"name": "ci", "scope": "read"})
    assert response.status_code == 302
    page = alice.client.get("/account/").content.decode()
    secret = re.search(r"data-token-secret>(ipwb_[^<]+)<", page).group(1)  # type: ignore[union-attr]
    assert secret not in alice.client.get("/account/").content.decode()  # shown once
    token = ApiToken.objects.get(name="ci")
    assert token.scope == "read"
    stored = " ".join(
        str(v) for v in ApiToken.objects.filter(pk=token.pk).values().first().values()
    )
    assert secret not in stored and token.token_hash != secret

    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api.get("/api/v1/keys/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert (
        "never" not in alice.client.get("/account/").content.decode().split(token.prefix)[1][:200]
    )
    alice.client.post(f"/account/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/keys/").json()["error"]["code"] == "auth.token_invalid"
    assert AuditLog.objects.filter(action="token.revoke", target=token.prefix).exists()


def test_keys_register_retire_revoke(alice: Persona) -> None:
    signer = make_signer()
    alice.client.post("/account/keys/", {"public_key": signer.public, "name": "laptop"})
    key = SigningKey.objects.get(fingerprint=signer.fingerprint, owner=alice.user)
    alice.client.post(f"/account/keys/{key.pk}/retire/")
    key.refresh_from_db()
    assert key.state == "retired" and key.retired_at
    alice.client.post(f"/account/keys/{key.pk}/revoke/", {"compromised_at": "2025-01-02 03:04"})
    key.refresh_from_db()
    assert key.state == "revoked"
    assert key.compromised_at.isoformat().startswith("2025-01-02T03:04")
    actions = set(AuditLog.objects.filter(target=key.fingerprint).values_list("action", flat=True))
    assert actions == {"key.register", "key.retire", "key.revoke"}
    page = alice.client.get("/account/").content.decode()
    assert "compromised from 2025-01-02" in page


def test_organisations_credit_only_members(
    alice: Persona, bob: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    submission = scored(alice, alice_key, demo_version, make_bundle)
    alice.client.post("/account/organisations/", {"name": "Heron Labs"})
    org = Organisation.objects.get(slug="heron-labs")
    bob.client.post("/account/organisations/", {"name": "Bob Co"})
    alice.client.post(
        f"/account/submissions/{submission.pk}/organisation/", {"organisation": "heron-labs"}
    )
    submission.refresh_from_db()
    assert submission.organisation == org
    # bob cannot credit his org on alice's work, nor alice on an org she is not in
    assert (
        bob.client.post(
            f"/account/submissions/{submission.pk}/organisation/", {"organisation": "bob-co"}
        ).status_code
        == 404
    )
    assert (
        alice.client.post(
            f"/account/submissions/{submission.pk}/organisation/", {"organisation": "bob-co"}
        ).status_code
        == 404
    )
    with pytest.raises(services.ActionError):
        services.set_submission_organisation(
            submission, Organisation.objects.get(slug="bob-co"), alice.user
        )
    alice.client.post("/account/organisations/heron-labs/members/", {"username": "bob"})
    assert org.members.filter(username="bob").exists()
    assert (
        alice.api.get(f"/api/v1/submissions/{submission.pk}/").json()["organisation"]
        == "heron-labs"
    )


def test_withdraw_leaves_board_with_audit_and_signal(
    alice: Persona,
    bob: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    submission = scored(alice, alice_key, demo_version, make_bundle)
    assert str(submission.pk) in _board(anonymous.api)
    assert bob.client.post(f"/account/submissions/{submission.pk}/withdraw/").status_code == 404
    seen: list[Any] = []

    def listener(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs["submission_id"])

    board_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = alice.client.post(
                f"/account/submissions/{submission.pk}/withdraw/", {"reason": "bad meter"}
            )
    finally:
        board_changed.disconnect(listener)
    assert response.status_code == 302
    assert seen == [submission.pk]
    submission.refresh_from_db()
    assert submission.withdrawn_at is not None
    assert str(submission.pk) not in _board(anonymous.api)
    log = AuditLog.objects.get(action="submission.withdraw")
    assert log.actor == alice.user and log.detail["reason"] == "bad meter"


def test_staff_review_queue_and_actions(
    alice: Persona,
    staff: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    submission = scored(alice, alice_key, demo_version, make_bundle)
    submission.review = Submission.Review.PENDING  # as the pipeline holds one (a save: the
    submission.save(update_fields=["review"])  # board's read model follows saves, not updates)
    assert str(submission.pk) not in _board(anonymous.api)
    page = staff.client.get("/account/review/")
    assert page.status_code == 200 and str(submission.pk)[:8] in page.content.decode()
    assert alice.client.get("/account/review/").status_code == 403
    assert anonymous.client.get("/account/review/").status_code == 302

    def act(action: str, client: Any = staff.client) -> int:
        return client.post(
            f"/account/review/{submission.pk}/", {"action": action, "note": "n"}
        ).status_code

    assert act("approve", alice.client) == 403
    assert act("approve") == 302
    assert str(submission.pk) in _board(anonymous.api)
    assert act("hide") == 302
    assert str(submission.pk) not in _board(anonymous.api)
    assert act("restore") == 302
    assert act("reproduced") == 302
    submission.refresh_from_db()
    assert submission.staff_reproduced and not submission.hidden
    assert submission.review == Submission.Review.APPROVED
    actions = list(
        AuditLog.objects.filter(target=str(submission.pk), actor=staff.user)
        .order_by("created_at")
        .values_list("action", flat=True)
    )
    assert actions == [
        "submission.approve",
        "submission.hide",
        "submission.restore",
        "submission.reproduced",
    ]
    assert act("deny") == 302
    submission.refresh_from_db()
    assert submission.review == Submission.Review.DENIED
    assert str(submission.pk) not in _board(anonymous.api)


@pytest.mark.parametrize(
    "url",
    [
        "/account/tokens/",
        "/account/keys/",
        "/account/organisations/",
        "/account/tokens/1/revoke/",
        "/account/keys/1/retire/",
        "/account/keys/1/revoke/",
        "/account/review/00000000-0000-0000-0000-000000000000/",
        "/account/submissions/00000000-0000-0000-0000-000000000000/withdraw/",
        "/account/signup/",
        "/accounts/login/",
        "/accounts/password_reset/",
    ],
)
def test_every_form_needs_csrf(alice: Persona, url: str) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice.user)
    assert client.post(url, {"name": "x"}).status_code == 403
