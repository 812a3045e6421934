"""``manage.py import_dataset``: every format, immutable versions, hidden references end to end."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluator.datasets import dataset_sha256, load_dataset
from evaluator.scoring import PRIVATE_REFERENCE_REASON, score_item
from submissions import services
from submissions.models import BenchmarkDataset, DatasetVersion, Submission
from tests.conftest import DEMO_DATASET, ROOT, Persona, Signer, upload
from tests.perquery import item_rows, query_rows

HARNESS_JSONL = ROOT / "tests" / "fixtures" / "ipw-dataset" / "ipw_mixed_120.jsonl"
HARNESS_HF = ROOT / "tests" / "fixtures" / "ipw-dataset" / "hf"


def _import(*args: Any) -> str:
    out = StringIO()
    call_command("import_dataset", *[str(a) for a in args], stdout=out)
    return out.getvalue()


def _parquet_copy(tmp_path: Path) -> Path:
    """The harness JSONL as Parquet (the shape the harness's own Parquet exports have)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in HARNESS_JSONL.read_text().splitlines() if line.strip()]
    for row in rows:  # empty struct columns do not survive Parquet; the importer ignores them
        row.pop("model_answers", None)
        row.pop("model_metrics", None)
    path = tmp_path / "mixed.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("fmt", ["harness-jsonl", "hf", "parquet"])
def test_harness_formats_import_to_the_same_canonical_version(
    fmt: str, db: None, tmp_path: Path
) -> None:
    source = {"harness-jsonl": HARNESS_JSONL, "hf": HARNESS_HF, "parquet": None}[fmt]
    path = source or _parquet_copy(tmp_path)
    out = _import(
        path,
        "--format",
        fmt,
        "--slug",
        "ipw-mixed-x",
        "--version",
        "1",
        "--license",
        "CC-BY-4.0",
        "--description",
        "mixed workload",
    )
    version = DatasetVersion.objects.select_related("dataset").get()
    assert f"Registered {version}" in out
    assert (version.dataset.slug, version.version, version.item_count) == ("ipw-mixed-x", "1", 120)
    assert (version.dataset.license, version.dataset.description) == (
        "CC-BY-4.0",
        "mixed workload",
    )
    assert not version.references_private
    # The container does not change the content: one checksum for all three formats.
    expected = _import_sha(tmp_path)
    assert version.sha256 == expected
    assert dataset_sha256(Path(version.file.path)) == version.sha256
    items = item_rows(version)  # the version's items file (issue 13: no item rows)
    assert len(items) == 120
    assert {item.method for item in items} == {"letter_match", "numeric_match", "llm_judge"}
    assert all(item.reference for item in items)
    assert version.open_ended_items == sum(item.method == "llm_judge" for item in items)


def _import_sha(tmp_path: Path) -> str:
    from evaluator.datasets import import_harness_jsonl

    return import_harness_jsonl(
        HARNESS_JSONL, "ipw-mixed-x", "1", license="CC-BY-4.0", description="mixed workload"
    ).sha256


def test_canonical_import_keeps_the_file_and_its_header(db: None) -> None:
    out = _import(DEMO_DATASET, "--format", "canonical")
    version = DatasetVersion.objects.select_related("dataset").get()
    assert "Registered ipwboard-demo@1" in out
    assert version.sha256 == dataset_sha256(DEMO_DATASET)  # already canonical: same bytes
    assert version.dataset.license == "CC0-1.0"  # from the header
    assert version.dataset.description.startswith("IPW Board demo benchmark")
    assert version.item_count == 60


def test_versions_are_immutable(db: None, tmp_path: Path) -> None:
    args = [HARNESS_JSONL, "--format", "harness-jsonl", "--slug", "mixed", "--version", "1"]
    _import(*args)
    # The same content again, from another container too: a no-op.
    assert "nothing to do" in _import(*args)
    assert "nothing to do" in _import(HARNESS_HF, "--format", "hf", *args[3:])
    assert DatasetVersion.objects.count() == 1
    # Other content under the same slug + version: refused with a clear message.
    with pytest.raises(CommandError, match=r"immutable.*new version"):
        _import(*args, "--license", "MIT")
    edited = tmp_path / "edited.jsonl"
    lines = HARNESS_JSONL.read_text().splitlines()
    edited.write_text("\n".join(lines[:-1]) + "\n")  # one item fewer
    with pytest.raises(CommandError, match="mixed@1 is already registered with sha256"):
        _import(edited, *args[1:])
    assert DatasetVersion.objects.count() == 1
    # ... and is welcome as a new version.
    _import(edited, "--format", "harness-jsonl", "--slug", "mixed", "--version", "2")
    assert DatasetVersion.objects.get(version="2").item_count == 119


def test_import_errors_name_the_code_and_the_row(db: None, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    lines = HARNESS_JSONL.read_text().splitlines()
    broken.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(CommandError, match=r"^dataset\.\S+: .*row 2"):
        _import(broken, "--format", "harness-jsonl", "--slug", "x", "--version", "1")
    with pytest.raises(CommandError, match="needs --slug and --version"):
        _import(HARNESS_JSONL, "--format", "harness-jsonl")
    assert not DatasetVersion.objects.exists()


@pytest.fixture
def hidden_version(db: None) -> DatasetVersion:
    out = _import(
        DEMO_DATASET,
        "--format",
        "canonical",
        "--slug",
        "demo-hidden",
        "--private-references",
    )
    assert "(references private)" in out
    return DatasetVersion.objects.select_related("dataset").get(dataset__slug="demo-hidden")


def _secret_references() -> set[str]:
    # References long enough not to occur by accident in unrelated text (open-ended answers,
    # exact-match strings, multi-digit numbers).
    full = load_dataset(DEMO_DATASET)
    return {i.reference for i in full.items if i.reference and len(i.reference) >= 6}


def test_hidden_references_never_leave_the_server(
    hidden_version: DatasetVersion, anonymous: Persona
) -> None:
    assert hidden_version.references_private
    assert hidden_version.private_file.name
    assert not [item for item in item_rows(hidden_version) if item.reference]

    download = anonymous.client.get("/data/datasets/demo-hidden/1/download/")
    assert download.status_code == 200
    body = b"".join(download.streaming_content).decode()
    lines = [json.loads(line) for line in body.splitlines()]
    assert lines[0]["_dataset"]["references"] == "private"
    assert len(lines) == 61 and all(line["reference"] is None for line in lines[1:])
    secrets = _secret_references()
    assert len(secrets) >= 10
    leaked = [s for s in secrets if s in body]
    assert not leaked
    listing = anonymous.client.get("/api/v1/datasets/").content.decode()
    assert "demo-hidden" in listing
    assert not [s for s in secrets if json.dumps(s)[1:-1] in listing]

    # Re-importing the same split is a no-op (the split files are deterministic).
    again = _import(
        DEMO_DATASET,
        "--format",
        "canonical",
        "--slug",
        "demo-hidden",
        "--private-references",
    )
    assert "nothing to do" in again


def test_hidden_references_are_used_by_the_worker(
    hidden_version: DatasetVersion,
    alice: Persona,
    alice_key: Signer,
    make_bundle: Any,
    tmp_path: Path,
) -> None:
    path = make_bundle(hidden_version, alice_key)
    body = upload(alice, path).json()
    services.process_submission(body["id"])
    submission = Submission.objects.get(pk=body["id"])
    assert submission.status == Submission.Status.SCORED, submission.report
    evaluation = submission.current_evaluation
    rows = query_rows(evaluation)
    assert not [r for r in rows if r.reason == PRIVATE_REFERENCE_REASON]

    # The same responses scored against the full references, without the server.
    from tests.test_judge_server import bundle_responses

    responses = bundle_responses(path)
    full = services.engine_dataset(hidden_version)  # merged with the private file
    expected = [score_item(item, responses[item.id]) for item in full.items]
    n_scored = sum(s.status != "unscored" for s in expected)
    n_correct = sum(s.status == "correct" for s in expected)
    assert (evaluation.n_scored, evaluation.n_correct) == (n_scored, n_correct)
    assert n_scored == 50 and 0 < n_correct < n_scored  # open-ended: no judge configured
    assert evaluation.accuracy == pytest.approx(n_correct / n_scored)


def test_private_canonical_file_needs_its_private_file(db: None, tmp_path: Path) -> None:
    from evaluator.datasets import read_dataset_meta, write_split_dataset

    meta = read_dataset_meta(DEMO_DATASET)
    public, private = tmp_path / "public.jsonl", tmp_path / "private.jsonl"
    write_split_dataset(public, private, meta, load_dataset(DEMO_DATASET).items)
    with pytest.raises(CommandError, match="--private-file"):
        _import(public, "--format", "canonical")
    _import(public, "--format", "canonical", "--private-file", private)  # stays private
    version = DatasetVersion.objects.get()
    assert version.references_private
    assert version.sha256 == dataset_sha256(public)
    assert BenchmarkDataset.objects.get().license == "CC0-1.0"


def test_a_canonical_file_with_other_bytes_is_rewritten(db: None, tmp_path: Path) -> None:
    """Registering a canonical file as it is (one load, issue 13) only when rewriting it would
    reproduce it byte for byte: the same items with other spacing are rewritten canonical."""
    import json

    lines = DEMO_DATASET.read_bytes().splitlines()
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_bytes(
        b"\n".join([lines[0], *(json.dumps(json.loads(x)).encode() for x in lines[1:])]) + b"\n"
    )
    assert dataset_sha256(spaced) != dataset_sha256(DEMO_DATASET)
    _import(spaced, "--format", "canonical")
    version = DatasetVersion.objects.get()
    assert version.sha256 == dataset_sha256(DEMO_DATASET)  # the canonical bytes, not the input's
    assert len(item_rows(version)) == version.item_count
