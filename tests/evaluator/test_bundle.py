"""Packing, signing and unpacking bundles; the round trip through evaluate()."""

from __future__ import annotations

import base64
import json
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from badbundles import (
    CORPUS_KEY,
    OTHER_KEY,
    T0,
    corpus_trusted_keys,
    make_manifest,
    make_queries,
    make_trace,
    make_valid_bundle,
    read_members,
)
from conftest import HARNESS_RUN

from evaluator.bundle import (
    ALLOWED_MEMBERS,
    bundle_sha256,
    open_bundle,
    pack_bundle,
    sign_bundle,
    write_trace,
)
from evaluator.bundle.tables import QUERY_SCHEMA, TRACE_SCHEMA
from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.harness_import import import_ipw_run
from evaluator.keys import fingerprint, generate_private_key, public_key_bytes
from evaluator.manifest import FORMAT_VERSION, SUPPORTED_VERSIONS, validate_manifest
from evaluator.types import Dataset


def test_round_trip_passes_with_every_check(
    valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    result = evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys, seed=7)
    codes = [check.code for check in result.checks]
    for expected in (
        "archive.safe",
        "signature.valid",
        "manifest.valid",
        "dataset.match",
        "workload.complete",
        "timing.consistent",
        "telemetry.sampling",
        "telemetry.energy_counter",
        "telemetry.energy_attribution",
        "tokens.plausible",
    ):
        assert expected in codes
    assert all(check.status == "pass" for check in result.checks)
    assert result.metrics.n_queries == len(corpus_dataset.items)
    assert result.metrics.n_correct == len(corpus_dataset.items) - 1  # one wrong answer
    assert [item.query_id for item in result.items] == corpus_dataset.ids()
    assert set(result.labels) == {"no-challenge", "synthetic"}
    assert result.bundle.bundle_sha256 == bundle_sha256(valid_bundle)
    assert result.bundle.has_trace
    assert set(result.bundle.member_sha256) == {"manifest.json", "queries.parquet", "trace.parquet"}
    assert result.bundle.key_fingerprint in trusted_keys
    assert result.bundle.run_id == result.bundle.manifest.run_id
    assert result.claimed_accuracy == 0.9


def test_packing_is_deterministic_and_layout_is_as_documented(
    tmp_path: Path, corpus_dataset: Dataset
) -> None:
    one = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, name="one.ipwb")
    two = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, name="two.ipwb")
    assert bundle_sha256(one) == bundle_sha256(two)
    with zipfile.ZipFile(one) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    assert list(infos) == list(ALLOWED_MEMBERS)
    assert infos["queries.parquet"].compress_type == zipfile.ZIP_STORED
    assert infos["trace.parquet"].compress_type == zipfile.ZIP_STORED
    assert infos["manifest.json"].compress_type == zipfile.ZIP_DEFLATED


def test_resigning_replaces_the_signature(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset
) -> None:
    copy = Path(shutil.copy(valid_bundle, tmp_path / "copy.ipwb"))
    other = fingerprint(public_key_bytes(OTHER_KEY))
    assert sign_bundle(copy, OTHER_KEY) == other
    assert list(read_members(copy)) == list(ALLOWED_MEMBERS)
    result = evaluate(copy, corpus_dataset, trusted_keys={other: public_key_bytes(OTHER_KEY)})
    assert result.bundle.key_fingerprint == other


def test_pack_validates_the_manifest_first(tmp_path: Path, corpus_dataset: Dataset) -> None:
    trace = make_trace(T0, T0 + 10)
    manifest = make_manifest(corpus_dataset, T0, T0 + 10)
    manifest["measurement"]["scope"] = "galaxy"
    with pytest.raises(BundleError) as raised:
        pack_bundle(tmp_path / "x.ipwb", manifest, make_queries(corpus_dataset, trace, T0), trace)
    assert raised.value.code == "bundle.manifest.invalid"
    assert raised.value.field == "measurement.scope"
    assert not (tmp_path / "x.ipwb").exists()


def test_pack_accepts_parquet_paths_and_fills_optional_columns(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    start, end = T0, T0 + 30
    trace = make_trace(start, end)
    queries = make_queries(corpus_dataset, trace, start).drop_columns(
        ["power_min_w", "input_tokens"]
    )
    pq.write_table(queries, tmp_path / "q.parquet")
    trace_path = write_trace(
        zip(*(trace.column(n).to_pylist() for n in TRACE_SCHEMA.names), strict=True),
        tmp_path / "t.parquet",
    )
    assert pq.read_schema(trace_path) == TRACE_SCHEMA
    manifest = make_manifest(corpus_dataset, start, end)
    out = pack_bundle(tmp_path / "p.ipwb", manifest, tmp_path / "q.parquet", trace_path)
    sign_bundle(out, CORPUS_KEY)
    opened = open_bundle(out, tmp_path / "unpacked")
    written = pq.read_table(opened.open("queries.parquet"))
    assert written.schema == QUERY_SCHEMA
    assert written.column("power_min_w").null_count == written.num_rows
    evaluate(out, corpus_dataset, trusted_keys=trusted_keys)


def test_open_bundle_hashes_members_and_stays_in_workdir(
    tmp_path: Path, valid_bundle: Path
) -> None:
    import hashlib

    opened = open_bundle(valid_bundle, tmp_path / "w")
    assert set(opened.members) == set(ALLOWED_MEMBERS)
    with zipfile.ZipFile(valid_bundle) as archive:
        for name, member in opened.members.items():
            # Deflated members are unpacked into the work dir; stored ones are read in place.
            stored = archive.getinfo(name).compress_type == zipfile.ZIP_STORED
            assert member.path == (valid_bundle if stored else tmp_path / "w" / name)
            data = archive.read(name)
            assert opened.read_bytes(name) == data
            assert opened.open(name).read() == data
            assert opened.member_size[name] == len(data)
            assert opened.member_sha256[name] == hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == [
        "manifest.json",
        "signature.dsse.json",
    ]


def test_sign_refuses_an_invalid_manifest(tmp_path: Path, valid_bundle: Path) -> None:
    from badbundles import mutate

    bad = mutate(valid_bundle, tmp_path, manifest=lambda m: m.pop("window"), sign=False)
    with pytest.raises(BundleError) as raised:
        sign_bundle(bad, CORPUS_KEY)
    assert raised.value.code == "bundle.manifest.invalid"


def test_write_trace_streams_many_readings(tmp_path: Path) -> None:
    readings = ((i * 50_000_000, 100.0, i * 5.0) for i in range(200_000))
    path = write_trace(readings, tmp_path / "trace.parquet")
    assert pq.ParquetFile(path).metadata.num_rows == 200_000


# -- format versions (docs/bundle-format.md section 8) --------------------------------------------


def test_packers_write_1_1_and_readers_keep_reading_1_0(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset, harness_dataset: Dataset
) -> None:
    manifest, queries, *_ = import_ipw_run(HARNESS_RUN, harness_dataset)
    assert FORMAT_VERSION == "1.1" and {"1.0", "1.1"} == SUPPORTED_VERSIONS
    assert manifest["format_version"] == "1.1"
    key = generate_private_key()
    raw = public_key_bytes(key)
    bundle = pack_bundle(tmp_path / "new.ipwb", manifest, queries)
    sign_bundle(bundle, key)
    with zipfile.ZipFile(bundle) as archive:
        envelope = json.loads(archive.read("signature.dsse.json"))
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"]["format_version"] == "1.1"
    assert statement["predicateType"] == "https://ipwboard.dev/bundle/v1"  # same major
    result = evaluate(bundle, harness_dataset, trusted_keys={fingerprint(raw): raw})
    assert "format 1.1" in next(c.message for c in result.checks if c.code == "manifest.valid")
    # A 1.0 bundle (the corpus writes one) is still read.
    old = evaluate(valid_bundle, corpus_dataset, trusted_keys=corpus_trusted_keys())
    assert "format 1.0" in next(c.message for c in old.checks if c.code == "manifest.valid")
    # 1.1's optional fields under 1.0: how packers wrote them before the bump; still valid.
    assert manifest["measurement"]["attribution"] == "chained"
    validate_manifest({**manifest, "format_version": "1.0"})
    for unknown in ("1.2", "2.0", "1"):
        with pytest.raises(BundleError) as raised:
            validate_manifest({**manifest, "format_version": unknown})
        assert raised.value.code == "bundle.manifest.unsupported_version"
        assert raised.value.field == "format_version" and "1.0, 1.1" in raised.value.message
