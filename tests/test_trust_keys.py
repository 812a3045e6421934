"""Issue 12, finding 1: a revoked key verifies only bundles the server received before the
compromise time, whatever challenge, ``created_at`` or window the bundle carries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from submissions import services
from submissions.cli.client import ApiClient
from submissions.models import SigningKey, Submission
from tests.conftest import Persona, Signer, upload
from tests.test_e2e_worker import _wait_final

NOT_VALID = "bundle.key.not_valid_at_time"


def _tomorrow() -> str:
    return (timezone.now() + timedelta(days=1)).date().isoformat()


def _key(signer: Signer) -> SigningKey:
    return SigningKey.objects.get(fingerprint=signer.fingerprint)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_bundle_signed_after_revocation_with_an_earlier_challenge_is_rejected_by_the_worker(
    worker: Any,
    live_server: Any,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    """The attack: a challenge fetched before the compromise, a bundle signed after it (window
    and created_at after it too), uploaded after the revocation. Old code took the challenge's
    time as the key's reference time and scored it."""
    client = ApiClient(live_server.url, alice.token)
    nonce = client.post("challenges/")["nonce"]
    revoked = alice.api.post(f"/api/v1/keys/{_key(alice_key).pk}/revoke/", {}, format="json")
    assert revoked.status_code == 200, revoked.content

    bundle = make_bundle(demo_version, alice_key, challenge=nonce, run_date=_tomorrow())
    created = client.upload(bundle)
    final = _wait_final(client, created["id"])

    assert final["status"] == "rejected", final["report"]
    error = final["report"]["error"]
    assert error["code"] == NOT_VALID
    assert "received" in error["message"] and "revoked" in error["message"]
    assert alice.api.get("/api/v1/leaderboard/").json() == []


def test_a_bundle_received_before_the_compromise_still_verifies(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    """Uploaded (received) before T, evaluated after the revocation: accepted."""
    response = upload(alice, make_bundle(demo_version, alice_key))
    assert response.status_code == 201
    received = Submission.objects.get(pk=response.json()["id"]).created_at
    services.revoke_signing_key(_key(alice_key), alice.user, received + timedelta(seconds=1))

    services.process_submission(response.json()["id"])

    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == Submission.Status.SCORED, submission.report


def test_bundle_dated_before_the_compromise_but_received_after_is_rejected(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    """A bundle's own dates are the submitter's words: a backdated one gains nothing."""
    services.revoke_signing_key(_key(alice_key), alice.user, timezone.now() - timedelta(days=1))
    bundle = make_bundle(demo_version, alice_key, run_date="2024-01-01")
    response = upload(alice, bundle)
    services.process_submission(response.json()["id"])

    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == Submission.Status.REJECTED
    assert submission.error_code == NOT_VALID


def test_retired_key_with_a_challenge_from_before_the_retirement_is_rejected(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    """Retirement follows the same rule: the receipt time, not the challenge's."""
    nonce = alice.api.post("/api/v1/challenges/").json()["nonce"]
    services.retire_signing_key(_key(alice_key), alice.user)
    response = upload(alice, make_bundle(demo_version, alice_key, challenge=nonce))
    services.process_submission(response.json()["id"])

    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == Submission.Status.REJECTED
    assert submission.error_code == NOT_VALID
    assert "retired" in submission.report["error"]["message"]


def test_the_rule_in_one_place(alice: Persona, alice_key: Signer) -> None:
    key = _key(alice_key)
    now = timezone.now()
    assert key.verifies_received_at(now + timedelta(days=365))  # active: always
    services.revoke_signing_key(key, alice.user, now)
    key.refresh_from_db()
    assert key.valid_until == key.compromised_at
    assert key.verifies_received_at(key.compromised_at - timedelta(microseconds=1))
    assert not key.verifies_received_at(key.compromised_at)
