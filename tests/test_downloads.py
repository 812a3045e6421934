"""Downloads page, board exports (CSV/JSON/Parquet), dataset files, per-submission data."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ipwboard.board import exports
from submissions.models import AIModel, Hardware, Submission
from tests.conftest import Persona, Signer, upload
from tests.test_api_support import queued, scored


@pytest.fixture(autouse=True)
def _fresh_storage(tmp_path: Any, settings: Any) -> Any:
    """Each test gets its own media directory (and no cached manifest) so exports never leak
    between tests."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    cache.clear()
    yield
    cache.clear()


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_neutralise_formula_prefixes() -> None:
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        assert exports.neutralise(f"{prefix}SUM(A1)") == f"'{prefix}SUM(A1)"
    assert exports.neutralise("llama") == "llama"
    assert exports.neutralise(-1.5) == -1.5  # numbers stay numbers


def test_board_exports_csv_json_parquet(
    alice: Persona, anonymous: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    first = scored(alice, alice_key, demo_version, make_bundle)
    scored(alice, alice_key, demo_version, make_bundle, model="demo/sparrow-1b")
    queued(alice, alice_key, demo_version, make_bundle)  # not on the board, not exported
    # A hostile model name and hardware label must not run as spreadsheet formulas.
    AIModel.objects.filter(pk=first.model_id).update(name='=HYPERLINK("http://evil","x")')
    Hardware.objects.filter(pk=first.hardware_id).update(label="@SUM(1+1)")

    assert b"being generated" in anonymous.client.get("/data/").content
    manifest = exports.regenerate_exports()
    assert manifest["row_count"] == 2 and manifest["synthetic_rows"] == 2

    page = anonymous.client.get("/data/").content.decode()
    for fmt in ("csv", "json", "parquet"):
        assert manifest["files"][fmt]["sha256"] in page
    assert "synthetic demo data" in page and "<code>synthetic</code>" in page

    raw = _body(anonymous.client.get("/data/exports/board.csv"))
    assert hashlib.sha256(raw).hexdigest() == manifest["files"]["csv"]["sha256"]
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert len(rows) == 2 and {r["synthetic"] for r in rows} == {"true"}
    hostile = next(r for r in rows if r["submission_id"] == str(first.pk))
    assert (
        hostile["model"] == '\'=HYPERLINK("http://evil","x")'
        and hostile["hardware"] == "'@SUM(1+1)"
    )
    assert float(hostile["ipw"]) == pytest.approx(first.current_evaluation.ipw)

    data = json.loads(_body(anonymous.client.get("/data/exports/board.json")))
    assert len(data) == 2 and all(row["synthetic"] is True for row in data)
    assert {row["model"] for row in data} >= {'=HYPERLINK("http://evil","x")'}  # raw in JSON

    table = pq.read_table(io.BytesIO(_body(anonymous.client.get("/data/exports/board.parquet"))))
    assert table.num_rows == 2 and "synthetic" in table.column_names
    dictionary = json.loads(_body(anonymous.client.get("/data/exports/data-dictionary.json")))
    assert [c["name"] for c in dictionary] == table.column_names == list(rows[0])
    import pandas  # a dev dependency: the export must load where data users load it

    assert (
        len(
            pandas.read_parquet(
                io.BytesIO(_body(anonymous.client.get("/data/exports/board.parquet")))
            )
        )
        == 2
    )


def test_dataset_files_never_leak_private_references(anonymous: Persona, demo_version: Any) -> None:
    secret = b"SECRET-REFERENCE-ANSWERS"
    demo_version.private_file = default_storage.save(
        "datasets-private/x.jsonl", ContentFile(secret)
    )
    demo_version.references_private = True
    demo_version.save()
    exports.regenerate_exports()
    slug, version = demo_version.dataset.slug, demo_version.version
    jsonl = _body(anonymous.client.get(f"/data/datasets/{slug}/{version}/jsonl/"))
    lines = [json.loads(line) for line in jsonl.decode().splitlines()]
    assert len(lines) == demo_version.item_count
    assert all("reference" not in line and line["prompt"] for line in lines)
    table = pq.read_table(
        io.BytesIO(_body(anonymous.client.get(f"/data/datasets/{slug}/{version}/parquet/")))
    )
    assert "reference" not in table.column_names and table.num_rows == demo_version.item_count
    page = anonymous.client.get("/data/").content.decode()
    assert "prompts only" in page and hashlib.sha256(jsonl).hexdigest() in page
    for url in (
        f"/data/datasets/{slug}/{version}/download/",
        f"/data/datasets/{slug}/{version}/jsonl/",
    ):
        assert secret not in _body(anonymous.client.get(url))


def test_public_dataset_files_include_references(anonymous: Persona, demo_version: Any) -> None:
    exports.regenerate_exports()
    slug, version = demo_version.dataset.slug, demo_version.version
    jsonl = _body(anonymous.client.get(f"/data/datasets/{slug}/{version}/jsonl/")).decode()
    first = json.loads(jsonl.splitlines()[0])
    assert set(first) == {"id", "position", "domain", "method", "prompt", "reference"}
    assert "prompts and reference answers" in anonymous.client.get("/data/").content.decode()


def test_per_submission_downloads_only_when_ranked(
    alice: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    path = make_bundle(demo_version, alice_key)
    body = upload(alice, path).json()
    from submissions import services

    services.process_submission(body["id"])
    submission = Submission.objects.get(pk=body["id"])
    bundle = anonymous.client.get(f"/data/submissions/{submission.pk}/bundle.ipwb")
    assert bundle.status_code == 200 and _body(bundle) == path.read_bytes()
    response = anonymous.client.get(f"/data/submissions/{submission.pk}/queries.parquet")
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(_body(response)))
    assert table.num_rows == submission.current_evaluation.n_queries
    assert set(table.column("synthetic").to_pylist()) == {True}
    assert {"query_id", "response", "energy_j", "latency_s", "power_w", "status"} <= set(
        table.column_names
    )

    for change in (
        {"hidden": True},
        {"review": "pending"},
        {"withdrawn_at": submission.created_at},
    ):
        Submission.objects.filter(pk=submission.pk).update(**change)
        for name in ("bundle.ipwb", "queries.parquet"):
            assert (
                anonymous.client.get(f"/data/submissions/{submission.pk}/{name}").status_code == 404
            )
            assert alice.client.get(f"/data/submissions/{submission.pk}/{name}").status_code == 404
        Submission.objects.filter(pk=submission.pk).update(
            hidden=False, review="none", withdrawn_at=None
        )
    waiting = queued(alice, alice_key, demo_version, make_bundle)
    assert anonymous.client.get(f"/data/submissions/{waiting.pk}/bundle.ipwb").status_code == 404


def test_board_changed_schedules_one_debounced_rebuild(
    monkeypatch: pytest.MonkeyPatch, db: None
) -> None:
    from ipwboard.board import tasks
    from submissions.signals import board_changed

    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.regenerate_board_exports, "apply_async", lambda **kw: sent.append(kw))
    board_changed.send(Submission, submission_id="x")
    board_changed.send(Submission, submission_id="y")
    assert len(sent) == 1 and sent[0]["countdown"] >= 0
    # The task itself rebuilds and clears the debounce flag.
    assert tasks.regenerate_board_exports.run() == 0
    assert exports.read_manifest() is not None
    board_changed.send(Submission, submission_id="z")
    assert len(sent) == 2


def test_exports_task_is_routed_to_the_exports_queue(settings: Any) -> None:
    from ipwboard.celery import app

    route = app.amqp.router.route({}, "ipwboard.board.tasks.regenerate_board_exports")
    assert route["queue"].name == "exports"
