"""End to end on real components: live web server, a real Celery worker process, Redis, PostgreSQL.

The CLI's own client uploads a signed bundle; the worker (a separate process) verifies and scores
it; the ranked row is read back from the public page.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from submissions.cli.client import ApiClient
from tests.conftest import Persona, Signer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _wait_final(client: ApiClient, submission_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"submissions/{submission_id}/")
        if body["status"] in {"scored", "rejected", "failed"}:
            return body
        time.sleep(0.5)
    raise AssertionError(f"submission {submission_id} not final after {timeout}s")


def test_signed_bundle_through_real_worker(
    worker: Any,
    live_server: Any,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    client = ApiClient(live_server.url, alice.token)
    created = client.upload(make_bundle(demo_version, alice_key, model="demo/sparrow-3b"))
    assert created["status"] == "queued"

    final = _wait_final(client, created["id"])
    assert final["status"] == "scored", final["report"]
    assert worker.poll() is None  # the worker process is alive and did the work

    page = httpx.get(live_server.url + "/").text
    assert "demo/sparrow-3b" in page
    rows = httpx.get(live_server.url + "/api/v1/leaderboard/").json()
    assert [(r["rank"], r["model"]) for r in rows] == [(1, "demo/sparrow-3b")]
    assert rows[0]["ipw"] == pytest.approx(final["evaluation"]["ipw"])


def test_bad_bundle_through_real_worker_is_rejected(
    worker: Any, live_server: Any, alice: Persona, demo_version: Any, make_bundle: Any
) -> None:
    from tests.conftest import make_signer

    client = ApiClient(live_server.url, alice.token)
    created = client.upload(make_bundle(demo_version, make_signer()))  # key never registered
    final = _wait_final(client, created["id"])
    assert final["status"] == "rejected"
    assert final["report"]["error"]["code"] == "bundle.signature.unknown_key"
    assert httpx.get(live_server.url + "/api/v1/leaderboard/").json() == []
