"""The routing analysis on real components: two bundles scored by a real Celery worker process
make the board change; the worker's own ``refresh_routing`` task (enqueued by the board_changed
receiver, on the exports queue) stores the analysis; the API serves it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from submissions.cli.client import ApiClient
from tests.conftest import Persona, Signer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(worker_factory: Any, settings: Any) -> Any:
    from django.core.cache import cache

    # One cache for the web process (this one) and the worker, as in production: the worker's
    # board-version bump after storing the analysis must retire what the web process cached.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
    cache.clear()  # a debounce flag left by another test would swallow our refresh
    return worker_factory(IPWBOARD_EXPORTS_DEBOUNCE_SECONDS="1", IPWBOARD_REDIS_CACHE="1")


def _wait(check: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"not done after {timeout}s")


def test_scorings_through_real_worker_refresh_the_analysis(
    worker: Any,
    live_server: Any,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    client = ApiClient(live_server.url, alice.token)
    # Cached before any analysis exists: must not outlive the refresh.
    assert httpx.get(live_server.url + "/api/v1/routing/").json()["analysis"] is None
    ids = [
        client.upload(make_bundle(demo_version, alice_key, model=m, hardware=h, seed=s))["id"]
        for m, h, s in (
            ("demo/heron-8b", "Demo Workstation GPU", 1),
            ("demo/condor-70b", "Demo Datacenter GPU", 2),
        )
    ]
    for sid in ids:
        final = _wait(lambda sid=sid: client.get(f"submissions/{sid}/")["status"] == "scored")
        assert final

    def analysed() -> Any:
        body = httpx.get(live_server.url + "/api/v1/routing/").json()
        return body if body["analysis"] else None

    try:
        body = _wait(analysed)
    except AssertionError:
        raise AssertionError(Path(worker.log_path).read_text()[-4000:]) from None
    assert worker.poll() is None
    analysis = body["analysis"]
    assert body["choice"]["scope"] == "accelerator" and len(analysis["pairs"]) == 2
    labels = {p["label"] for p in analysis["pairs"]}
    assert labels == {
        "demo/heron-8b on Demo Workstation GPU",
        "demo/condor-70b on Demo Datacenter GPU",
    }
    page = httpx.get(live_server.url + "/routing/").text
    assert "What could run locally?" in page and "Oracle (upper bound" in page
