"""Canonical dataset files, importers, hidden references, and clear errors for bad files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluator.datasets import (
    DatasetMeta,
    canonical_sha256,
    dataset_sha256,
    import_harness_jsonl,
    import_hf_dir,
    import_parquet,
    load_dataset,
    read_dataset_meta,
    write_dataset,
    write_split_dataset,
)
from evaluator.errors import CODES, BundleError
from evaluator.scoring import score_item
from evaluator.types import DatasetItem

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
HARNESS_JSONL = FIXTURES / "ipw-dataset" / "ipw_mixed_120.jsonl"
HF_DIR = FIXTURES / "ipw-dataset" / "hf"
RUN_DIR = FIXTURES / "ipw-harness-runs" / "profile_H10080GB_llama3_2_1b"
DATA = ROOT / "data" / "datasets"
META = DatasetMeta("tiny", "1", "CC0-1.0", "a test", "public")


def tiny_items() -> list[DatasetItem]:
    return [
        DatasetItem("q1", "2+2?", "4", "math", "numeric_match", {"tolerance": 0.0}),
        DatasetItem("q2", "Pick", "B", "trivia", "letter_match", {"options": {"A": "x", "B": "y"}}),
        DatasetItem("q3", "Capital of France?", "Paris", "geo", "exact_match", {}),
        DatasetItem("q4", "Explain", "Because.", "chat", "llm_judge", {"rubric": "r"}),
    ]


def test_harness_jsonl_hf_dir_and_run_dir_agree() -> None:
    from_jsonl = import_harness_jsonl(HARNESS_JSONL, "ipw-mixed", "1")
    from_hf = import_hf_dir(HF_DIR, "ipw-mixed", "1")
    from_run = import_hf_dir(RUN_DIR, "ipw-mixed", "1")  # dataset_metadata nested as a struct
    assert from_jsonl.items == from_hf.items == from_run.items
    assert from_jsonl.sha256 == from_hf.sha256
    assert len(from_jsonl.items) == 120
    ids = from_jsonl.ids()
    assert ids[:3] == ["mc-011", "math-037", "chat-004"]
    methods = [item.method for item in from_jsonl.items]
    assert (methods.count("letter_match"), methods.count("numeric_match")) == (46, 39)
    assert methods.count("llm_judge") == 35
    first = from_jsonl.items[0]
    assert first.reference == "B" and first.params["options"]["B"] == "Mali Empire"
    assert first.domain == "history"


def test_import_parquet(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in HARNESS_JSONL.read_text().splitlines()]
    # struct<> columns cannot go to Parquet; the importer never needs them.
    table = pa.Table.from_pylist(
        [{k: v for k, v in r.items() if k not in ("model_answers", "model_metrics")} for r in rows]
    )
    pq.write_table(table, tmp_path / "mixed.parquet")
    from_parquet = import_parquet(tmp_path / "mixed.parquet", "ipw-mixed", "1")
    assert from_parquet.items == import_harness_jsonl(HARNESS_JSONL, "ipw-mixed", "1").items


def test_null_typed_column_and_field_order(tmp_path: Path) -> None:
    schema = pa.schema(
        [("subject", pa.string()), ("answer", pa.string()), ("temperature", pa.null()),
         ("dataset_metadata", pa.string()), ("problem", pa.string())]
    )  # fmt: skip
    meta = json.dumps({"id": "n1", "evaluation_method": "numeric_match", "tolerance": 0.01})
    table = pa.table(
        {"subject": ["math"], "answer": ["7"], "temperature": pa.nulls(1),
         "dataset_metadata": [meta], "problem": ["3+4?"]},
        schema=schema,
    )  # fmt: skip
    shard = tmp_path / "data-00000-of-00001.arrow"
    with pa.OSFile(str(shard), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    dataset = import_hf_dir(tmp_path, "t", "1")
    assert dataset.items[0] == DatasetItem(
        "n1", "3+4?", "7", "math", "numeric_match", {"tolerance": 0.01}
    )


def test_written_file_round_trips_and_sha_is_stable(tmp_path: Path) -> None:
    sha = write_dataset(tmp_path / "a.jsonl", META, tiny_items())
    again = write_dataset(tmp_path / "b.jsonl", META, tiny_items())
    assert (
        sha == again == dataset_sha256(tmp_path / "a.jsonl") == canonical_sha256(META, tiny_items())
    )
    loaded = load_dataset(tmp_path / "a.jsonl")
    assert loaded.sha256 == sha
    assert loaded.items == tuple(tiny_items())
    assert read_dataset_meta(tmp_path / "a.jsonl") == META
    # A different header (license) is a different dataset identity.
    assert write_dataset(tmp_path / "c.jsonl", replace(META, license="MIT"), tiny_items()) != sha


def test_committed_datasets_load_and_regenerate_identically(tmp_path: Path) -> None:
    demo = load_dataset(DATA / "ipwboard-demo" / "1.jsonl")
    mixed = load_dataset(DATA / "ipw-mixed" / "1.jsonl")
    assert len(demo.items) == 60 and len(mixed.items) == 120
    assert {i.method for i in demo.items} == {
        "letter_match", "numeric_match", "exact_match", "llm_judge"
    }  # fmt: skip
    assert all(len(i.params["options"]) == 4 for i in demo.items if i.method == "letter_match")
    assert mixed.items == import_harness_jsonl(HARNESS_JSONL, "ipw-mixed", "1").items
    script = ROOT / "scripts" / "generate_demo_dataset.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    for name in ("ipwboard-demo", "ipw-mixed"):
        assert dataset_sha256(tmp_path / name / "1.jsonl") == dataset_sha256(
            DATA / name / "1.jsonl"
        )


def test_demo_references_score_correct_against_themselves() -> None:
    demo = load_dataset(DATA / "ipwboard-demo" / "1.jsonl")
    for item in demo.items:
        if item.method == "llm_judge":
            continue
        answer = (
            item.reference if item.method != "numeric_match" else f"\\boxed{{{item.reference}}}"
        )
        assert score_item(item, f"The answer is {answer}").status == "correct", item


def test_hidden_references(tmp_path: Path) -> None:
    public, private = tmp_path / "pub.jsonl", tmp_path / "priv.jsonl"
    public_sha, _ = write_split_dataset(public, private, META, tiny_items())
    only_public = load_dataset(public)
    assert only_public.sha256 == public_sha
    assert all(item.reference is None for item in only_public.items)
    assert score_item(only_public.items[0], "4").status == "unscored"
    merged = load_dataset(public, private=private)
    assert merged.sha256 == public_sha  # bundles name the public file
    assert merged.items == tuple(tiny_items())
    # A private file written for another public file is refused.
    other = tmp_path / "other.jsonl"
    write_split_dataset(other, tmp_path / "other-priv.jsonl", META, tiny_items()[:3])
    with pytest.raises(BundleError) as err:
        load_dataset(public, private=tmp_path / "other-priv.jsonl")
    assert err.value.code == "dataset.private.mismatch"


def _write_lines(path: Path, lines: list[object], raw_tail: bytes = b"") -> Path:
    header = {"_dataset": {"slug": "bad", "version": "1", "license": "x", "references": "public"}}
    text = "".join(json.dumps(line) + "\n" for line in [header, *lines])
    path.write_bytes(text.encode() + raw_tail)
    return path


GOOD = {"id": "a", "prompt": "p", "reference": "1", "domain": "d", "method": "numeric_match",
        "params": {}}  # fmt: skip


@pytest.mark.parametrize(
    ("lines", "tail", "code", "row", "field"),
    [
        ([GOOD, GOOD], b"", "dataset.id.duplicate", 3, "id"),
        ([GOOD, {**GOOD, "id": "b", "method": "vibes"}], b"", "dataset.item.invalid", 3, "method"),
        ([{**GOOD, "prompt": ""}], b"", "dataset.item.invalid", 2, "prompt"),
        ([{**GOOD, "reference": "about four"}], b"", "dataset.item.invalid", 2, "reference"),
        ([{**GOOD, "extra": 1}], b"", "dataset.item.invalid", 2, "extra"),
        ([{k: v for k, v in GOOD.items() if k != "domain"}], b"", "dataset.item.invalid", 2, "domain"),
        ([{**GOOD, "method": "letter_match", "reference": "C",
           "params": {"options": {"A": "x", "B": "y"}}}], b"", "dataset.item.invalid", 2, "reference"),
        ([{**GOOD, "params": {"tolerance": -1}}], b"", "dataset.item.invalid", 2, "params.tolerance"),
        ([GOOD], b"{not json\n", "dataset.file.invalid", 3, None),
        ([GOOD], b"\xff\xfe\n", "dataset.file.invalid", 3, None),
        ([GOOD], b"\n", "dataset.file.invalid", 3, None),
        ([GOOD], b'{"id": "z"}', "dataset.file.invalid", 3, None),
        ([], b"", "dataset.file.invalid", None, None),
    ],
)  # fmt: skip
def test_bad_files_give_codes_with_line_numbers(
    tmp_path: Path, lines: list[object], tail: bytes, code: str, row: int | None, field: str | None
) -> None:
    path = _write_lines(tmp_path / "bad.jsonl", lines, tail)
    with pytest.raises(BundleError) as err:
        load_dataset(path)
    assert (err.value.code, err.value.row, err.value.field) == (code, row, field)
    assert err.value.file == str(path)
    assert code in CODES


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ({"_dataset": {"slug": "Bad Slug", "version": "1", "license": "x", "references": "public"}}, "slug"),
        ({"_dataset": {"slug": "ok", "version": "1", "license": "x", "references": "secret"}}, "references"),
        ({"_dataset": {"slug": "ok", "version": "1", "references": "public"}}, "license"),
    ],
)  # fmt: skip
def test_bad_header(tmp_path: Path, header: dict[str, object], field: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(BundleError) as err:
        load_dataset(path)
    assert (err.value.code, err.value.row, err.value.field) == ("dataset.header.invalid", 1, field)


def test_missing_header_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nohead.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    with pytest.raises(BundleError) as err:
        load_dataset(path)
    assert (err.value.code, err.value.row) == ("dataset.file.invalid", 1)
    with pytest.raises(BundleError) as err:
        load_dataset(tmp_path / "absent.jsonl")
    assert err.value.code == "dataset.file.invalid"


def test_private_file_must_not_leak_references(tmp_path: Path) -> None:
    path = tmp_path / "leak.jsonl"
    header = {"_dataset": {"slug": "ok", "version": "1", "license": "x", "references": "private"}}
    path.write_text(json.dumps(header) + "\n" + json.dumps(GOOD) + "\n")
    with pytest.raises(BundleError) as err:
        load_dataset(path)
    assert (err.value.code, err.value.row, err.value.field) == (
        "dataset.item.invalid",
        2,
        "reference",
    )


def test_importer_errors_name_the_row(tmp_path: Path) -> None:
    rows = HARNESS_JSONL.read_text().splitlines()
    bad = json.loads(rows[4])
    bad["dataset_metadata"] = json.dumps({"id": "x", "evaluation_method": "telepathy"})
    duplicated = [rows[0], rows[1], json.dumps(bad)]
    (tmp_path / "a.jsonl").write_text("\n".join(duplicated) + "\n")
    with pytest.raises(BundleError) as err:
        import_harness_jsonl(tmp_path / "a.jsonl", "s", "1")
    assert (err.value.code, err.value.row) == ("dataset.import.invalid", 3)
    (tmp_path / "b.jsonl").write_text("\n".join([rows[0], rows[1], rows[0]]) + "\n")
    with pytest.raises(BundleError) as err:
        import_harness_jsonl(tmp_path / "b.jsonl", "s", "1")
    assert (err.value.code, err.value.row) == ("dataset.id.duplicate", 3)
    shutil.copytree(HF_DIR, tmp_path / "hf")
    (tmp_path / "hf" / "data-00000-of-00001.arrow").write_bytes(b"not arrow")
    with pytest.raises(BundleError) as err:
        import_hf_dir(tmp_path / "hf", "s", "1")
    assert err.value.code == "dataset.file.invalid"
