"""What retrying clients rely on: retryable 503s from every upload endpoint, the replay 409 naming
the owner's submission, and JSON (not HTML) 404/500 pages under /api/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory

from submissions.api import errors
from submissions.storage import StorageUnavailable
from tests.conftest import Persona, Signer, upload

pytestmark = pytest.mark.django_db


def test_replay_409_names_the_submission_to_its_owner_only(
    alice: Persona, bob: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    bundle: Path = make_bundle(demo_version, alice_key)
    first = upload(alice, bundle)
    assert first.status_code == 201, first.content
    again = upload(alice, bundle)
    body = again.json()["error"]
    assert again.status_code == 409 and body["code"] == "bundle.replay.bundle"
    assert body["submission_id"] == first.json()["id"]
    stranger = upload(bob, bundle)
    assert stranger.status_code == 409 and "submission_id" not in stranger.json()["error"]


def _boto_outage() -> Exception:
    from botocore.exceptions import EndpointConnectionError

    return EndpointConnectionError(endpoint_url="http://s3.invalid")


def _boto_error(status: int, code: str) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "ListParts")


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (StorageUnavailable("disk full"), "storage.unavailable"),
        (OperationalError("connection refused"), "service.unavailable"),
        (_boto_outage(), "storage.unavailable"),
        (_boto_error(503, "SlowDown"), "storage.unavailable"),
    ],
    ids=["storage", "database", "s3-unreachable", "s3-slowdown"],
)
def test_direct_upload_endpoints_answer_retryable_503(
    alice: Persona, monkeypatch: pytest.MonkeyPatch, exc: Exception, code: str
) -> None:
    from submissions.api import upload_views

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    monkeypatch.setattr(upload_views.uploads, "start_direct_upload", fail)
    monkeypatch.setattr(upload_views, "_own_upload", fail)
    uid = "00000000-0000-0000-0000-000000000001"
    responses = [
        alice.api.post("/api/v1/uploads/", {"filename": "b.ipwb", "size": 10}, format="json"),
        alice.api.get(f"/api/v1/uploads/{uid}/"),
        alice.api.delete(f"/api/v1/uploads/{uid}/"),
        alice.api.post(f"/api/v1/uploads/{uid}/finalise/", {}, format="json"),
    ]
    for response in responses:
        assert response.status_code == 503, response.content
        assert response["Retry-After"] == str(errors.RETRY_AFTER_S)
        assert response.json()["error"] == {
            "code": code,
            "message": response.json()["error"]["message"],
            "retry_after_s": errors.RETRY_AFTER_S,
        }


def test_s3_client_errors_are_not_outages() -> None:
    assert errors.unavailable_response(_boto_error(404, "NoSuchUpload")) is None
    assert errors.unavailable_response(ValueError("nope")) is None


def test_api_404_and_500_are_json(alice: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client(raise_request_exception=False)
    missing = client.get("/api/v1/no-such-endpoint/")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    assert missing.json()["error"]["code"] == "not_found"
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")

    from submissions.api import views

    def boom(*args: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(views.services, "issue_challenge", boom)
    broken = client.post("/api/v1/challenges/", HTTP_AUTHORIZATION=f"Token {alice.token}")
    assert broken.status_code == 500 and broken["Content-Type"] == "application/json"
    assert broken.json()["error"]["code"] == "internal.error"
    assert "secret detail" not in broken.content.decode()


def test_html_500_stays_html() -> None:
    response = errors.server_error(RequestFactory().get("/board/"))
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")
