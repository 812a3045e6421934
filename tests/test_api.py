"""API additions: filters, JSON errors, rate limits, queue estimates, withdraw, tokens, keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from submissions import services
from submissions.models import ApiToken, SigningKey, Submission
from tests.conftest import Persona, Signer, upload
from tests.test_api_support import queued, scored


def test_filters_match_the_board(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    a = scored(alice, alice_key, demo_version, make_bundle, model="demo/heron-8b")
    q = queued(alice, alice_key, demo_version, make_bundle)

    def ids(**params: str) -> set[str]:
        response = alice.api.get("/api/v1/submissions/", params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {str(a.pk), str(q.pk)}
    assert ids(status="queued") == {str(q.pk)}
    assert ids(status="scored") == {str(a.pk)}
    assert ids(model="demo/heron-8b") == {str(a.pk)}
    assert ids(model="nope") == set()
    assert ids(hardware=a.hardware.label) == {str(a.pk)}
    assert ids(dataset=demo_version.dataset.slug) == {str(a.pk)}
    assert ids(dataset=f"{demo_version.dataset.slug}@{demo_version.version}") == {str(a.pk)}
    assert ids(dataset=f"{demo_version.dataset.slug}@nope") == set()
    assert ids(scope=a.measurement_scope) == {str(a.pk)}
    bad = alice.api.get("/api/v1/submissions/", {"status": "bogus"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "request.invalid"
    page = alice.api.get("/api/v1/submissions/", {"limit": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]


def test_errors_are_json_with_stable_codes(alice: Persona, anonymous: Persona) -> None:
    missing = anonymous.api.get("/api/v1/submissions/00000000-0000-0000-0000-000000000000/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    method = alice.api.put("/api/v1/challenges/")
    assert method.status_code == 405 and method.json()["error"]["code"] == "method.not_allowed"
    invalid = alice.api.post("/api/v1/keys/", {}, format="json")
    body = invalid.json()["error"]
    assert (
        invalid.status_code == 400
        and body["code"] == "request.invalid"
        and "public_key" in body["fields"]
    )
    key = alice.api.post("/api/v1/keys/", {"public_key": "nonsense"}, format="json")
    assert key.json()["error"]["code"] == "key.public.invalid"
    malformed = alice.api.post("/api/v1/keys/", "{", content_type="application/json")
    assert malformed.json()["error"]["code"] == "request.malformed"


@pytest.fixture
def tight_limits() -> Any:
    rates = {
        "uploads_user": "2/minute",
        "uploads_ip": "3/minute",
        "challenges_user": "2/minute",
        "challenges_ip": "3/minute",
    }
    cache.clear()
    with override_settings(IPWBOARD_THROTTLE_RATES=rates):
        yield
    cache.clear()


def test_upload_rate_limits_per_user_and_ip(
    alice: Persona, bob: Persona, tight_limits: None, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.ipwb"
    empty.write_bytes(b"")
    assert [upload(alice, empty).status_code for _ in range(2)] == [400, 400]
    limited = upload(alice, empty)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    error = limited.json()["error"]
    assert error["code"] == "rate_limited" and error["retry_after_s"] > 0
    # bob has his own user budget, but shares the IP budget (3/minute) with alice
    assert upload(bob, empty).status_code == 429  # alice's 2 + her refused 3rd hit the IP
    assert alice.api.get("/api/v1/submissions/").status_code == 200  # reads are not limited


def test_challenge_rate_limits(alice: Persona, tight_limits: None) -> None:
    codes = [alice.api.post("/api/v1/challenges/").status_code for _ in range(3)]
    assert codes == [201, 201, 429]


def test_queue_position_and_estimated_wait(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    first = queued(alice, alice_key, demo_version, make_bundle)
    second = queued(alice, alice_key, demo_version, make_bundle)
    body = alice.api.get(f"/api/v1/submissions/{second.pk}/").json()
    assert body["queue_position"] == 2 and body["estimated_wait_s"] is None  # no history yet
    now = timezone.now()
    for seconds in (10, 20, 60):  # median 20 s
        done = queued(alice, alice_key, demo_version, make_bundle)
        Submission.objects.filter(pk=done.pk).update(
            status="rejected", started_at=now - timedelta(seconds=seconds), finished_at=now
        )
    Submission.objects.filter(pk=first.pk).update(created_at=now - timedelta(hours=1))
    body = alice.api.get(f"/api/v1/submissions/{second.pk}/").json()
    assert body["queue_position"] == 2
    assert body["estimated_wait_s"] == pytest.approx(40.0)
    assert alice.api.get(f"/api/v1/submissions/{first.pk}/").json()[
        "estimated_wait_s"
    ] == pytest.approx(20.0)


def test_withdraw_endpoint(
    alice: Persona,
    bob: Persona,
    staff: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    submission = scored(alice, alice_key, demo_version, make_bundle)
    url = f"/api/v1/submissions/{submission.pk}/withdraw/"
    assert bob.api.post(url).status_code == 404
    assert staff.api.post(url).status_code == 404  # staff hide; only owners withdraw
    _, secret = services.create_api_token(alice.user, "reader", scope="read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert reader.post(url).status_code == 403
    response = alice.api.post(url, {"reason": "mistake"}, format="json")
    assert response.status_code == 200 and response.json()["withdrawn_at"]
    again = alice.api.post(url)
    assert (
        again.status_code == 200 and again.json()["withdrawn_at"] == response.json()["withdrawn_at"]
    )
    assert bob.api.get(f"/api/v1/submissions/{submission.pk}/").status_code == 404
    assert alice.api.get("/api/v1/leaderboard/").json() == []


def test_token_endpoints_need_a_session(alice: Persona, bob: Persona) -> None:
    created = alice.client.post(
        "/api/v1/tokens/", {"name": "laptop", "scope": "submit"}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("ipwb_") and body["prefix"] == body["secret"][:12]
    listed = alice.client.get("/api/v1/tokens/").json()
    assert {t["name"] for t in listed} == {"alice token", "laptop"} and "secret" not in listed[0]
    # a token (even a submit token) cannot mint or list tokens
    assert alice.api.get("/api/v1/tokens/").status_code in (401, 403)
    assert alice.api.post("/api/v1/tokens/", {"name": "x"}, format="json").status_code in (401, 403)
    assert bob.client.delete(f"/api/v1/tokens/{body['id']}/").status_code == 404
    assert alice.client.delete(f"/api/v1/tokens/{body['id']}/").status_code == 204
    assert ApiToken.objects.get(pk=body["id"]).revoked_at is not None


def test_key_retire_and_revoke_endpoints(alice: Persona, bob: Persona, alice_key: Signer) -> None:
    key = SigningKey.objects.get(fingerprint=alice_key.fingerprint)
    assert bob.api.post(f"/api/v1/keys/{key.pk}/revoke/").status_code == 404
    listed = alice.api.get("/api/v1/keys/").json()
    assert listed[0]["id"] == key.pk
    revoked = alice.api.post(
        f"/api/v1/keys/{key.pk}/revoke/", {"compromised_at": "2025-03-01T00:00:00Z"}, format="json"
    )
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked" and revoked.json()["compromised_at"].startswith(
        "2025-03-01"
    )


def test_direct_uploads_need_s3(alice: Persona) -> None:
    config = alice.api.get("/api/v1/uploads/").json()
    assert config["direct_uploads"] is False and config["threshold_bytes"] > 0
    refused = alice.api.post("/api/v1/uploads/", {"size": 10_000_000}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "upload.direct_unavailable"
