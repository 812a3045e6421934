"""End to end on real components: live web server, a real Celery worker process, Redis, PostgreSQL.

The CLI's own client uploads a signed bundle; the worker (a separate process) verifies and scores
it; the ranked row is read back from the public page.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from submissions.cli.client import ApiClient
from tests.conftest import Persona, Signer
from tests.services import database_url, start_celery_worker

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path: Path, settings: Any) -> Iterator[Any]:
    from django.db import connection

    if not os.environ.get("REDIS_URL"):
        pytest.fail("REDIS_URL is not set: run the suite with `make test`")
    from ipwboard.celery import app

    app.control.purge()  # messages left by other tests' on_commit hooks are not ours
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "IPWBOARD_DATA_DIR": str(settings.DATA_DIR),
        "REDIS_URL": os.environ["REDIS_URL"],
        "IPWBOARD_ENV": "test",
    }
    with start_celery_worker(
        env, ["validation", "scoring", "exports"], tmp_path / "worker.log"
    ) as proc:
        yield proc


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
