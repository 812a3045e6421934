"""S3 unavailable: uploads fail with a clear, retryable error; the board keeps serving reads.

A real moto S3 server over HTTP backs a gunicorn web process; the test stops moto, uploads, reads
the board, then brings S3 back and uploads again.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from submissions import services
from submissions.models import Submission
from tests.conftest import Persona, Signer, upload
from tests.reliability.conftest import post_bundle
from tests.reliability.servers import gunicorn
from tests.services import MotoServer, start_moto_server

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _create_bucket(moto: MotoServer, bucket: str) -> None:
    import boto3

    boto3.client(
        "s3",
        endpoint_url=moto.endpoint_url,
        region_name=moto.region,
        aws_access_key_id=moto.access_key,
        aws_secret_access_key=moto.secret_key,
    ).create_bucket(Bucket=bucket)


@pytest.fixture
def scored(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, monkeypatch: Any
) -> Submission:
    """One scored row on the board (processed in-process; nothing is sent to a broker)."""
    monkeypatch.setattr("submissions.services.intake.enqueue", lambda pk: None)
    body = upload(alice, make_bundle(demo_version, alice_key, model="demo/sparrow-3b")).json()
    services.process_submission(body["id"])
    return Submission.objects.get(pk=body["id"])


@contextlib.contextmanager
def _moto(log: Path, port: int | None = None) -> Iterator[MotoServer]:
    with start_moto_server(log_path=log, port=port) as server:
        yield server


def test_storage_down_uploads_503_and_board_reads_work(
    app_env: dict[str, str | None],
    scored: Submission,
    alice: Persona,
    alice_key: Signer,
    bundle_factory: Any,
    tmp_path: Path,
) -> None:
    assert scored.status == Submission.Status.SCORED
    bucket = f"ipwb-{uuid.uuid4().hex[:12]}"
    stack = contextlib.ExitStack()
    moto = stack.enter_context(_moto(tmp_path / "moto.log"))
    _create_bucket(moto, bucket)
    env = {
        **app_env,
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": moto.endpoint_url,
        "AWS_ACCESS_KEY_ID": moto.access_key,
        "AWS_SECRET_ACCESS_KEY": moto.secret_key,
        "AWS_S3_REGION_NAME": moto.region,
    }
    with gunicorn(env, tmp_path / "web.log") as web:
        ok = post_bundle(web, alice, bundle_factory(alice_key))
        assert ok.status_code == 201, ok.text  # S3 works: the bundle lands in the bucket

        stack.close()  # S3 goes away
        started = time.monotonic()
        refused = post_bundle(web, alice, bundle_factory(alice_key))
        elapsed = time.monotonic() - started
        print(f"\nupload refused after {elapsed:.1f}s")
        assert elapsed < 20, "boto3's retries are bounded (AWS_MAX_ATTEMPTS, connect timeout)"
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/json")
        assert refused.headers["Retry-After"].isdigit()
        assert refused.json()["error"]["code"] == "storage.unavailable"
        assert Submission.objects.count() == 2, "a refused upload leaves no row behind"

        # Reads do not touch the bucket: the board, its API and status pages keep working.
        for path in (
            "/",
            "/api/v1/leaderboard/",
            f"/submissions/{scored.pk}/",
            f"/api/v1/submissions/{scored.pk}/",
            "/healthz",
        ):
            response = httpx.get(web + path, timeout=30)
            assert response.status_code == 200, (path, response.status_code)
        assert "demo/sparrow-3b" in httpx.get(web + "/").text

        # S3 is back (moto restarts empty on the same port): uploads succeed again.
        with _moto(tmp_path / "moto2.log", port=moto.port) as again:
            _create_bucket(again, bucket)
            back = post_bundle(web, alice, bundle_factory(alice_key))
            assert back.status_code == 201, back.text
