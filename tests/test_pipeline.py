"""Upload -> worker logic -> board, in-process (the real worker process is in test_e2e_worker).

Covers what each bad input gets: a distinct code and readable message in the API, on the status
page, and nothing on the board.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from submissions import services
from submissions.models import Evaluation, Submission
from tests.conftest import Persona, Signer, make_signer, upload
from tests.perquery import query_rows


def _run(submission_id: str) -> Submission:
    services.process_submission(submission_id)
    return Submission.objects.get(pk=submission_id)


def _board_models(client: Any) -> list[str]:
    return [row["model"] for row in client.get("/api/v1/leaderboard/").json()]


def _tamper_queries(path: Path) -> Path:
    """Flip one byte inside queries.parquet, keeping the zip itself valid."""
    out = path.with_name("tampered-" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = bytearray(src.read(info))
            if info.filename == "queries.parquet":
                data[len(data) // 2] ^= 0x01
            dst.writestr(info, bytes(data))
    return out


def test_signed_bundle_is_scored_and_ranked(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, anonymous: Persona
) -> None:
    response = upload(alice, make_bundle(demo_version, alice_key))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert body["queue_position"] == 1

    submission = _run(body["id"])
    assert submission.status == Submission.Status.SCORED, submission.report
    evaluation = submission.current_evaluation
    assert evaluation is not None
    assert 0 < evaluation.accuracy < 1
    # IPW and IPJ follow the guide's definitions from the stored per-query file.
    rows = query_rows(evaluation)
    assert len(rows) == evaluation.n_queries == demo_version.item_count
    assert all(r.response for r in rows)  # the drill-down shows what the model answered
    preview = submission.trace_preview  # downsampled by the worker; no request reads the trace
    assert 0 < len(preview.t_s) == len(preview.power_w) <= min(2000, preview.samples)
    mean_power = sum(r.energy_j / r.latency_s for r in rows) / len(rows)
    mean_energy = sum(r.energy_j for r in rows) / len(rows)
    assert evaluation.ipw == pytest.approx(evaluation.accuracy / mean_power, rel=1e-9)
    assert evaluation.ipj == pytest.approx(evaluation.accuracy / mean_energy, rel=1e-9)
    assert evaluation.ipw_low <= evaluation.ipw <= evaluation.ipw_high

    assert _board_models(anonymous.api) == ["demo/heron-8b"]
    page = anonymous.client.get("/")
    assert page.status_code == 200
    assert b"demo/heron-8b" in page.content
    assert b"synthetic" in page.content  # demo data says so

    status = anonymous.api.get(f"/api/v1/submissions/{body['id']}/").json()
    assert status["status"] == "scored"
    assert status["evaluation"]["ipw"] == pytest.approx(evaluation.ipw)


def test_running_twice_records_once(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    _run(body["id"])
    _run(body["id"])  # a redelivered task finds nothing to claim
    assert Evaluation.objects.filter(submission_id=body["id"]).count() == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("tampered", "bundle.digest.mismatch"),
        ("unregistered_key", "bundle.signature.unknown_key"),
        ("missing_queries", "bundle.workload.missing_queries"),
        ("unknown_dataset", "bundle.dataset.unknown"),
        ("bobs_key", "bundle.signature.unknown_key"),
    ],
)
def test_bad_bundles_are_rejected_with_their_code(
    case: str,
    code: str,
    alice: Persona,
    alice_key: Signer,
    bob: Persona,
    demo_version: Any,
    make_bundle: Any,
    anonymous: Persona,
    tmp_path: Path,
) -> None:
    if case == "tampered":
        path = _tamper_queries(make_bundle(demo_version, alice_key))
    elif case == "unregistered_key":
        path = make_bundle(demo_version, make_signer())
    elif case == "bobs_key":
        path = make_bundle(demo_version, make_signer(bob.user))
    elif case == "missing_queries":
        path = _drop_queries(make_bundle, demo_version, alice_key, tmp_path)
    else:
        path = make_bundle(
            demo_version,
            alice_key,
            mutate_manifest=lambda m: m["dataset"].update(version="999"),
        )
    body = upload(alice, path).json()
    submission = _run(body["id"])

    assert submission.status == Submission.Status.REJECTED
    assert submission.error_code == code
    assert submission.bundle.storage.exists(submission.bundle.name)  # kept for its owner
    # The API shows the owner the code and a message a person can act on.
    shown = alice.api.get(f"/api/v1/submissions/{body['id']}/").json()
    assert shown["report"]["error"]["code"] == code
    assert len(shown["report"]["error"]["message"]) > 20
    # So does the status page.
    page = alice.client.get(f"/submissions/{body['id']}/").content.decode()
    assert code in page
    # Nobody else sees it, and it never reaches the board.
    assert anonymous.api.get(f"/api/v1/submissions/{body['id']}/").status_code == 404
    assert bob.client.get(f"/submissions/{body['id']}/").status_code == 404
    assert _board_models(anonymous.api) == []
    assert not Evaluation.objects.filter(submission=submission).exists()


def _drop_queries(make_bundle: Any, version: Any, signer: Signer, tmp_path: Path) -> Path:
    """A bundle that answers only part of the dataset (re-packed and re-signed, so it verifies)."""
    import pyarrow.parquet as pq

    from evaluator.bundle import pack_bundle, sign_bundle

    full = make_bundle(version, signer)
    with zipfile.ZipFile(full) as archive:
        archive.extract("manifest.json", tmp_path / "x")
        archive.extract("queries.parquet", tmp_path / "x")
    import json

    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    table = pq.read_table(tmp_path / "x" / "queries.parquet")
    out = tmp_path / "partial.ipwb"
    pack_bundle(out, manifest, table.slice(0, table.num_rows - 3))
    sign_bundle(out, signer.key)
    return out


def test_replayed_bundle_is_refused_at_upload(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    path = make_bundle(demo_version, alice_key)
    first = upload(alice, path).json()
    _run(first["id"])
    again = upload(alice, path)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "bundle.replay.bundle"


def test_same_run_resigned_is_a_replay(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    """Same measurements, different bytes (re-signed by another key of alice's): still a replay."""
    from evaluator.bundle import sign_bundle

    path = make_bundle(demo_version, alice_key, seed=99)
    _run(upload(alice, path).json()["id"])
    other_key = make_signer(alice.user)
    sign_bundle(path, other_key.key)
    body = upload(alice, path).json()
    submission = _run(body["id"])
    assert submission.status == Submission.Status.REJECTED
    assert submission.error_code in {"bundle.replay.run_id", "bundle.replay.member"}


def test_upload_errors_have_codes(alice: Persona, anonymous: Persona, tmp_path: Path) -> None:
    missing = alice.api.post("/api/v1/submissions/", {}, format="multipart")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "upload.missing_file"

    empty = tmp_path / "empty.ipwb"
    empty.write_bytes(b"")
    assert upload(alice, empty).json()["error"]["code"] == "upload.empty"

    unauth = upload(anonymous, empty)
    assert unauth.status_code == 401
    assert unauth.json()["error"]["code"].startswith("auth.")

    from rest_framework.test import APIClient

    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token ipwb_not-a-real-token")
    response = bad.get("/api/v1/keys/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.token_invalid"


def test_read_token_cannot_upload(alice: Persona, tmp_path: Path) -> None:
    from rest_framework.test import APIClient

    _, secret = services.create_api_token(alice.user, "reader", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    path = tmp_path / "x.ipwb"
    path.write_bytes(b"PK")
    with path.open("rb") as fh:
        response = client.post("/api/v1/submissions/", {"bundle": fh}, format="multipart")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission.denied"
    assert not Submission.objects.exists()


def test_withdrawn_submission_leaves_a_public_tombstone(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, anonymous: Persona
) -> None:
    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    submission = _run(body["id"])
    assert _board_models(anonymous.api) == ["demo/heron-8b"]

    response = alice.api.post(f"/api/v1/submissions/{body['id']}/withdraw/")
    assert response.status_code in (200, 202), response.content

    assert _board_models(anonymous.api) == []
    page = anonymous.client.get(f"/submissions/{submission.pk}/")
    assert page.status_code == 410
    text = page.content.decode()
    assert "withdrawn" in text
    assert "IPW" not in text.split("<main", 1)[1].split("</main>", 1)[0]  # no figures remain
    owner_view = alice.client.get(f"/submissions/{submission.pk}/")
    assert owner_view.status_code == 200
    assert b"off the board" in owner_view.content


def test_near_identical_trace_is_held_for_review(
    alice: Persona, alice_key: Signer, demo_version: Any, tmp_path: Path, anonymous: Persona
) -> None:
    """A new run id and new bytes, but the old run's power trace (rescaled): held, not ranked."""
    import uuid

    import pyarrow as pa
    import pyarrow.compute as pc

    from evaluator.bundle import pack_bundle, sign_bundle
    from submissions import demo

    manifest, queries, trace = demo.synth_run(
        services.engine_dataset(demo_version),
        demo.find_model("demo/heron-8b"),
        demo.find_hardware("Demo Workstation GPU"),
        run_date="2025-05-01",
        seed=4242,
    )
    first = tmp_path / "first.ipwb"
    pack_bundle(first, manifest, queries, trace)
    sign_bundle(first, alice_key.key)
    original = _run(upload(alice, first).json()["id"])
    assert original.review == Submission.Review.NONE
    assert original.trace_fingerprint

    replay_manifest = {**manifest, "run_id": str(uuid.uuid4())}
    responses = queries.column("response").to_pylist()
    responses[0] += " "
    replay_queries = queries.set_column(
        queries.schema.get_field_index("response"), "response", pa.array(responses)
    )
    replay_trace = trace.set_column(
        1, "power_w", pc.multiply(trace.column("power_w"), 1.01)
    ).set_column(2, "energy_j", pc.multiply(trace.column("energy_j"), 1.01))
    second = tmp_path / "second.ipwb"
    pack_bundle(second, replay_manifest, replay_queries, replay_trace)
    sign_bundle(second, alice_key.key)
    replay = _run(upload(alice, second).json()["id"])

    assert replay.status == Submission.Status.SCORED
    assert replay.review == Submission.Review.PENDING
    assert "trace-replay-suspect" in replay.labels
    assert any(c["code"] == "replay.trace_similar" for c in replay.report["checks"])
    ranked = [row["submission"] for row in anonymous.api.get("/api/v1/leaderboard/").json()]
    assert str(replay.pk) not in ranked and str(original.pk) in ranked


def test_sweeper_deletes_only_old_orphan_files(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, settings: Any
) -> None:
    """Bundles, per-query files and dataset item files no row owns (a worker killed between
    storing a file and recording its row) are deleted once old; owned or recent ones stay."""
    import os
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    owned = _run(upload(alice, make_bundle(demo_version, alice_key)).json()["id"])
    owned_files = [
        owned.bundle.name,
        owned.current_evaluation.queries_file.name,
        demo_version.items_file.name,
    ]
    assert all(owned_files)
    old_orphans = [
        default_storage.save("bundles/orphan-old.ipwb", ContentFile(b"PK")),
        default_storage.save(f"perquery/{owned.pk}/orphan-old.parquet", ContentFile(b"PAR1")),
        default_storage.save("dataset-items/demo/orphan-old.parquet", ContentFile(b"PAR1")),
    ]
    new_orphans = [
        default_storage.save("bundles/orphan-new.ipwb", ContentFile(b"PK")),
        default_storage.save(f"perquery/{owned.pk}/orphan-new.parquet", ContentFile(b"PAR1")),
    ]
    two_days_ago = time.time() - 2 * 86400
    for name in (*old_orphans, *owned_files):
        os.utime(default_storage.path(name), (two_days_ago, two_days_ago))

    services.sweep_stale_submissions()

    assert [n for n in old_orphans if default_storage.exists(n)] == []
    # Recent ones may still be claimed by a writer in flight; owned ones are never touched.
    assert all(default_storage.exists(n) for n in (*new_orphans, *owned_files))
    for name in new_orphans:
        default_storage.delete(name)


def test_listing_queued_submissions_costs_one_query_per_queued_row(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    """Queue position and estimated wait share their queries: one COUNT per queued row, and the
    median processing time once per response, not once per row and field."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = alice.api.get("/api/v1/submissions/")
        assert response.status_code == 200
        return len(captured.captured_queries)

    upload(alice, make_bundle(demo_version, alice_key))
    one = queries_for_list()
    upload(alice, make_bundle(demo_version, alice_key))
    upload(alice, make_bundle(demo_version, alice_key))
    rows = alice.api.get("/api/v1/submissions/").json()["results"]
    assert [r["queue_position"] for r in rows] == [3, 2, 1]
    assert queries_for_list() == one + 2


def test_result_finished_after_the_deadline_is_not_recorded(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    import time

    from submissions.services.pipeline import DeadlinePassed, process_submission

    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    with pytest.raises(DeadlinePassed):
        process_submission(body["id"], deadline=time.monotonic() - 1)
    assert not Evaluation.objects.filter(submission_id=body["id"]).exists()
    assert (
        Submission.objects.get(pk=body["id"]).status == Submission.Status.RUNNING
    )  # task fails it
