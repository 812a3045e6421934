"""S3 paths over HTTP against moto's standalone server (started here; boto3 is never patched)."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from ipwboard.board import exports
from submissions import services
from submissions.models import DirectUpload, Submission
from submissions.storage import is_s3
from tests.conftest import Persona, Signer, upload
from tests.services import MotoServer, start_moto_server

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with start_moto_server(log_path=log) as server:
        yield server


@pytest.fixture
def s3(moto: MotoServer, db: None) -> Iterator[dict[str, Any]]:
    from tests.test_api_support import s3_settings

    with s3_settings(moto, f"ipwb-{uuid.uuid4().hex[:12]}") as options:
        assert is_s3()
        yield options


def _s3_object(options: dict[str, Any], key: str) -> bytes:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        region_name=options["region_name"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
    )
    return client.get_object(Bucket=options["bucket_name"], Key=key)["Body"].read()


def test_streamed_upload_lands_in_s3_and_is_scored(
    s3: dict[str, Any], alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    path = make_bundle(demo_version, alice_key)
    body = upload(alice, path).json()
    submission = Submission.objects.get(pk=body["id"])
    assert _s3_object(s3, submission.bundle.name) == path.read_bytes()
    services.process_submission(body["id"])  # the worker reads the bundle back from S3
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORED, submission.report


def test_downloads_are_presigned_redirects(
    s3: dict[str, Any],
    alice: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    path = make_bundle(demo_version, alice_key)
    body = upload(alice, path).json()
    services.process_submission(body["id"])
    response = anonymous.client.get(f"/data/submissions/{body['id']}/bundle.ipwb")
    assert response.status_code == 302
    assert (
        response["Location"].startswith(s3["endpoint_url"])
        and "X-Amz-Signature" in response["Location"]
    )
    assert httpx.get(response["Location"]).content == path.read_bytes()

    manifest = exports.regenerate_exports()
    csv_redirect = anonymous.client.get("/data/exports/board.csv")
    assert csv_redirect.status_code == 302
    content = httpx.get(csv_redirect["Location"]).content
    assert hashlib.sha256(content).hexdigest() == manifest["files"]["csv"]["sha256"]
    assert manifest["row_count"] == 1
    queries = anonymous.client.get(f"/data/submissions/{body['id']}/queries.parquet")
    table = pq.read_table(io.BytesIO(httpx.get(queries["Location"]).content))
    assert table.num_rows == demo_version.item_count
    dataset = anonymous.client.get(
        f"/data/datasets/{demo_version.dataset.slug}/{demo_version.version}/download/"
    )
    assert dataset.status_code == 302 and httpx.get(dataset["Location"]).status_code == 200
    # a rebuild replaces the manifest in place and keeps working on S3
    assert exports.regenerate_exports()["generation"] != manifest["generation"]


def _put(url: str, data: bytes) -> None:
    response = httpx.put(url, content=data)
    assert response.status_code == 200, response.text


def test_direct_upload_of_a_bundle(
    s3: dict[str, Any], alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    path = make_bundle(demo_version, alice_key)
    data = path.read_bytes()
    start = alice.api.post(
        "/api/v1/uploads/", {"filename": "b.ipwb", "size": len(data)}, format="json"
    )
    assert start.status_code == 201, start.content
    body = start.json()
    assert body["part_count"] == 1 and body["parts"][0]["url"].startswith(s3["endpoint_url"])
    _put(body["parts"][0]["url"], data)
    done = alice.api.post(f"/api/v1/uploads/{body['upload_id']}/finalise/", {}, format="json")
    assert done.status_code == 201, done.content
    submission = Submission.objects.get(pk=done.json()["id"])
    assert str(submission.pk) == body["upload_id"]
    assert submission.bundle_sha256 == hashlib.sha256(data).hexdigest()
    assert submission.bundle_size == len(data) and submission.status == "queued"
    # finalising twice returns the same submission
    again = alice.api.post(f"/api/v1/uploads/{body['upload_id']}/finalise/", {}, format="json")
    assert again.json()["id"] == done.json()["id"]
    services.process_submission(submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORED, submission.report


@override_settings(IPWBOARD_DIRECT_UPLOAD_PART_BYTES=5 * 1024**2)
def test_direct_upload_resumes_and_checks_completeness(
    s3: dict[str, Any], alice: Persona, bob: Persona, tmp_path: Path
) -> None:
    data = os.urandom(5 * 1024**2 + 123_456)  # two parts
    body = alice.api.post("/api/v1/uploads/", {"size": len(data)}, format="json").json()
    assert body["part_count"] == 2 and [p["size"] for p in body["parts"]] == [5 * 1024**2, 123_456]
    _put(body["parts"][0]["url"], data[: 5 * 1024**2])
    upload_id = body["upload_id"]
    early = alice.api.post(f"/api/v1/uploads/{upload_id}/finalise/", {}, format="json")
    assert early.status_code == 400 and early.json()["error"]["code"] == "upload.incomplete"
    # bob can neither see nor finalise alice's upload
    assert bob.api.get(f"/api/v1/uploads/{upload_id}/").status_code == 404
    assert (
        bob.api.post(f"/api/v1/uploads/{upload_id}/finalise/", {}, format="json").status_code == 404
    )
    resumed = alice.api.get(f"/api/v1/uploads/{upload_id}/").json()
    assert [p["part_number"] for p in resumed["uploaded_parts"]] == [1]
    assert [p["part_number"] for p in resumed["parts"]] == [2]
    _put(resumed["parts"][0]["url"], data[5 * 1024**2 :])
    done = alice.api.post(f"/api/v1/uploads/{upload_id}/finalise/", {}, format="json")
    assert done.status_code == 201, done.content
    assert done.json()["bundle_sha256"] == hashlib.sha256(data).hexdigest()
    assert _s3_object(s3, f"bundles/{upload_id}.ipwb") == data
    assert DirectUpload.objects.get(pk=upload_id).state == "completed"


def test_direct_upload_refuses_a_replay_and_deletes_it(
    s3: dict[str, Any], alice: Persona, tmp_path: Path
) -> None:
    data = b"PK" + os.urandom(1000)
    first = tmp_path / "a.ipwb"
    first.write_bytes(data)
    assert upload(alice, first).status_code == 201
    body = alice.api.post("/api/v1/uploads/", {"size": len(data)}, format="json").json()
    _put(body["parts"][0]["url"], data)
    refused = alice.api.post(f"/api/v1/uploads/{body['upload_id']}/finalise/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "bundle.replay.bundle"
    assert not default_storage.exists(f"bundles/{body['upload_id']}.ipwb")
    assert alice.api.delete(f"/api/v1/uploads/{body['upload_id']}/").status_code == 204


def test_the_sweeper_aborts_expired_direct_uploads(s3: dict[str, Any], alice: Persona) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3["endpoint_url"],
        region_name=s3["region_name"],
        aws_access_key_id=s3["access_key"],
        aws_secret_access_key=s3["secret_key"],
    )

    def open_uploads() -> set[str]:
        listed = client.list_multipart_uploads(Bucket=s3["bucket_name"])
        return {u["UploadId"] for u in listed.get("Uploads", [])}

    abandoned = alice.api.post("/api/v1/uploads/", {"size": 1000}, format="json").json()
    _put(abandoned["parts"][0]["url"], os.urandom(1000))
    live = alice.api.post("/api/v1/uploads/", {"size": 1000}, format="json").json()
    stale = DirectUpload.objects.get(pk=abandoned["upload_id"])
    fresh = DirectUpload.objects.get(pk=live["upload_id"])
    assert open_uploads() == {stale.s3_upload_id, fresh.s3_upload_id}
    DirectUpload.objects.filter(pk=stale.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    services.sweep_stale_submissions()

    # The abandoned upload's parts are gone from the bucket; the one still in time is untouched.
    assert open_uploads() == {fresh.s3_upload_id}
    assert DirectUpload.objects.get(pk=stale.pk).state == "aborted"
    assert DirectUpload.objects.get(pk=fresh.pk).state == "open"
    late = alice.api.post(f"/api/v1/uploads/{stale.pk}/finalise/", {}, format="json")
    assert late.status_code in (400, 409, 410), late.content
    assert "error" in late.json()


def test_drilldown_reads_byte_ranges_of_the_per_query_file(
    s3: dict[str, Any],
    alice: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 13: per-query results and dataset items are Parquet objects in the bucket; the
    drill-down reads a page of them with ranged GETs, never the whole object."""
    from ipwboard.board.pairs import PairKey
    from submissions.services import perquery
    from submissions.storage import RangedReader

    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    services.process_submission(body["id"])
    submission = Submission.objects.select_related("current_evaluation").get(pk=body["id"])
    name = submission.current_evaluation.queries_file.name
    stored = _s3_object(s3, default_storage._normalize_name(name))
    assert stored.startswith(b"PAR1") and stored.endswith(b"PAR1")
    assert demo_version.items_file.name.startswith("dataset-items/")

    ranges: list[int] = []
    real_read = RangedReader.read

    def counting(self: RangedReader, size: int = -1) -> bytes:
        data = real_read(self, size)
        ranges.append(len(data))
        return data

    monkeypatch.setattr(RangedReader, "read", counting)
    perquery._footer.cache_clear()
    page = anonymous.client.get(PairKey.of(submission).url() + "?wrong=1").content.decode()
    assert "Per-query results" in page and "✗ wrong" in page
    # Read through the ranged reader (django-storages' S3File would download the object first;
    # this 60-query file is small enough that the footer read takes most of it).
    assert ranges
    monkeypatch.undo()
    reader = RangedReader(name)
    reader.seek(100)
    assert reader.read(50) == stored[100:150]
    reader.seek(-8, io.SEEK_END)
    assert reader.read() == stored[-8:] and reader.read() == b""
