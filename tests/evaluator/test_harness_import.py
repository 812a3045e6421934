"""Importing the reference harness's real output, and its quirks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from badbundles import make_trace
from conftest import HARNESS_RUN

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.harness_import import import_ipw_run
from evaluator.keys import fingerprint, generate_private_key, public_key_bytes
from evaluator.limits import DEFAULT_LIMITS
from evaluator.manifest import parse_time
from evaluator.types import Dataset

MODEL = "llama3.2:1b"


def _rows() -> list[dict[str, Any]]:
    with pa.memory_map(str(HARNESS_RUN / "data-00000-of-00001.arrow")) as source:
        return ipc.open_stream(source).read_all().to_pylist()


def _write_run(
    tmp: Path, rows: list[dict[str, Any]], summary_changes: dict[str, Any] | None = None
) -> Path:
    run = tmp / "run"
    run.mkdir()
    summary = json.loads((HARNESS_RUN / "summary.json").read_text())
    summary.update(summary_changes or {})
    (run / "summary.json").write_text(json.dumps(summary))
    table = pa.Table.from_pylist(rows)
    with ipc.new_stream(str(run / "data-00000-of-00001.arrow"), table.schema) as writer:
        writer.write_table(table)
    return run


def test_real_harness_run_imports_packs_signs_and_evaluates(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    manifest, queries, trace, report = import_ipw_run(
        HARNESS_RUN, harness_dataset, overrides={"model": {"engine": "ollama"}, "synthetic": True}
    )
    assert trace is None
    assert queries.num_rows == 120
    assert report.rows == 120 and report.matched_by_id == 120
    assert report.model_key == MODEL
    assert manifest["measurement"] == {
        "scope": "accelerator",
        "method": "nvml_counter",
        "sampling_period_s": 0.05,
        # The November 2025 harness charged each query the delta since the previous one ended.
        "attribution": "chained",
        "basis": "accelerator",
    }
    assert report.generation == "chained" and report.workload == "single_turn"
    assert manifest["import"]["generation"] == "chained"
    assert report.optional_columns == [] and "prefill_energy_j" not in queries.column_names
    assert manifest["hardware"]["accelerator"] == "NVIDIA H100 80GB HBM3"
    assert manifest["hardware"]["count"] == 1
    assert manifest["model"]["engine"] == "ollama"
    assert "model.engine" not in report.defaulted_fields
    assert "model.revision" in report.defaulted_fields
    assert manifest["import"]["source"] == "ipw-harness"
    # The quirks the README lists, each reported.
    assert report.first_query_model_load["query_id"] == queries.column("query_id")[0].as_py()
    assert (
        report.first_query_model_load["energy_j"]
        > 2 * report.first_query_model_load["median_energy_j"]
    )
    assert any(path.endswith("flops_per_request") for path in report.null_typed_columns)
    assert "dataset_metadata.model_answers" in report.empty_struct_columns
    assert report.lm_correctness_ignored and not report.per_query_timestamps
    assert report.window_estimated
    quirks = " ".join(report.quirks)
    for phrase in (
        "lm_correctness",
        "no per-query timestamps",
        "model load",
        "no raw telemetry trace",
    ):
        assert phrase in quirks
    window = manifest["window"]
    span = parse_time(window["end"], "end") - parse_time(window["start"], "start")
    assert span == pytest.approx(sum(queries.column("latency_s").to_pylist()), abs=1e-3)

    key = generate_private_key()
    raw = public_key_bytes(key)
    bundle = pack_bundle(tmp_path / "run.ipwb", manifest, queries, trace)
    assert sign_bundle(bundle, key) == fingerprint(raw)
    result = evaluate(bundle, harness_dataset, trusted_keys={fingerprint(raw): raw})
    assert result.metrics.n_queries == 120
    assert {"no-trace", "imported-from-ipw-harness", "synthetic", "no-challenge"} <= set(
        result.labels
    )
    # 35 open-ended items need a judge: unscored without one.
    assert "unscored-items" in result.labels
    assert result.metrics.n_scored == 85
    assert result.bundle.manifest.import_info["quirks"] == report.quirks


def test_same_run_imports_to_the_same_run_id(harness_dataset: Dataset) -> None:
    first = import_ipw_run(HARNESS_RUN, harness_dataset)[0]
    second = import_ipw_run(HARNESS_RUN, harness_dataset)[0]
    assert first["run_id"] == second["run_id"]


def test_quirky_rows_none_and_zero_energy_field_order_prompt_match(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    rows = _rows()
    metrics = [row["model_metrics"][MODEL] for row in rows]
    metrics[3]["energy_metrics"]["per_query_joules"] = None
    metrics[4]["energy_metrics"]["per_query_joules"] = 0.0
    metrics[5]["lm_response"] = None  # falls back to model_answers
    rows[6]["answer"] = "definitely not the reference"
    rows[7]["dataset_metadata"]["dataset_metadata"] = "{}"  # no id: matched by prompt
    # Reverse the field order of every nested struct: reading must be by name.
    rows = [_reverse(row) for row in rows]
    run = _write_run(tmp_path, rows)
    manifest, queries, _, report = import_ipw_run(run, harness_dataset)
    ids = queries.column("query_id").to_pylist()
    energy = dict(zip(ids, queries.column("energy_j").to_pylist(), strict=True))
    # A row without energy is 0 J, like a row that read 0 J: the engine's one zero-energy rule
    # decides for both (no per-row estimate in the importer).
    assert len(report.energy_none) == 1 and len(report.energy_zero) == 1
    assert energy[report.energy_none[0]] == 0.0 and energy[report.energy_zero[0]] == 0.0
    assert len(report.reference_mismatches) == 1
    assert report.matched_by_prompt == 1 and report.matched_by_id == 119
    assert queries.column("response")[5].as_py() == rows[5]["model_answers"][MODEL]
    assert any("0 J" in quirk for quirk in report.quirks)
    assert any("had no energy; written as 0 J" in quirk for quirk in report.quirks)
    assert manifest["import"]["energy_none"] == report.energy_none

    # Through the engine: both rows imputed by the rule (2 of 120, within 5%), and labelled.
    result = _pack_and_evaluate(tmp_path, manifest, queries, harness_dataset)
    check = next(c for c in result.checks if c.code == "queries.energy_zero")
    assert check.status == "pass" and check.message.startswith("2 of 120 queries read 0 J")
    assert "energy-imputed" in result.labels
    latency = dict(zip(ids, queries.column("latency_s").to_pylist(), strict=True))
    measured = [e / latency[q] for q, e in energy.items() if e > 0]
    p_bar = sum(measured) / len(measured)  # the run's mean power over its metered rows
    zero_latency = latency[report.energy_none[0]] + latency[report.energy_zero[0]]
    assert result.metrics.total_energy_j == pytest.approx(
        sum(energy.values()) + p_bar * zero_latency
    )


def test_chained_rows_without_energy_beyond_the_share_are_rejected(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    rows = _rows()
    for row in rows[10:17]:  # 7 of 120: one more than 5% allows
        row["model_metrics"][MODEL]["energy_metrics"]["per_query_joules"] = None
    manifest, queries, _, report = import_ipw_run(_write_run(tmp_path, rows), harness_dataset)
    assert len(report.energy_none) == 7
    with pytest.raises(BundleError) as raised:
        _pack_and_evaluate(tmp_path, manifest, queries, harness_dataset)
    assert raised.value.code == "bundle.queries.energy_zero"
    assert "7 of 120 queries read energy_j = 0" in raised.value.message


def _pack_and_evaluate(
    tmp: Path, manifest: dict[str, Any], queries: pa.Table, dataset: Dataset
) -> Any:
    key = generate_private_key()
    raw = public_key_bytes(key)
    bundle = pack_bundle(tmp / "quirky.ipwb", manifest, queries)
    sign_bundle(bundle, key)
    return evaluate(bundle, dataset, trusted_keys={fingerprint(raw): raw})


def _reverse(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reverse(value[key]) for key in reversed(list(value))}
    return value


def test_unmatched_and_incomplete_runs_are_refused(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    rows = _rows()
    rows[0]["dataset_metadata"]["dataset_metadata"] = "{}"
    rows[0]["problem"] = "a prompt from another dataset"
    with pytest.raises(BundleError) as raised:
        import_ipw_run(_write_run(tmp_path, rows), harness_dataset)
    assert raised.value.code == "harness.item.unmatched"
    assert raised.value.row == 0
    with pytest.raises(BundleError) as raised:
        import_ipw_run(_write_run(_fresh(tmp_path / "b"), _rows()[:100]), harness_dataset)
    assert raised.value.code == "harness.run.incomplete"


def test_apple_backend_and_unknown_backend(tmp_path: Path, harness_dataset: Dataset) -> None:
    apple = {"gpu_info": {"name": "Apple M3 Max", "vendor": "Apple", "backend": "powermetrics"}}
    run = _write_run(tmp_path, _rows(), apple)
    manifest = import_ipw_run(run, harness_dataset)[0]
    assert manifest["measurement"]["scope"] == "soc"
    assert manifest["measurement"]["method"] == "powermetrics"
    # That harness's per_query_joules on a Mac is the GPU rail alone: not a whole-SoC basis.
    assert manifest["measurement"]["basis"] == "accelerator"
    assert any("GPU rail alone" in note for note in manifest["import"]["basis_notes"])
    (tmp_path / "x").mkdir()
    odd = {
        "gpu_info": {"name": "Accel 9000", "vendor": "Acme", "backend": "acme-smi"},
        "system_info": {},
    }
    run = _write_run(tmp_path / "x", _rows(), odd)
    with pytest.raises(BundleError) as raised:
        import_ipw_run(run, harness_dataset)
    assert raised.value.code == "harness.measurement.unknown"
    measurement = {"scope": "wall", "method": "external_meter", "sampling_period_s": 1.0}
    manifest = import_ipw_run(run, harness_dataset, overrides={"measurement": measurement})[0]
    assert manifest["measurement"] == {**measurement, "attribution": "chained", "basis": "wall"}


def test_import_with_a_recorded_trace(tmp_path: Path, harness_dataset: Dataset) -> None:
    manifest = import_ipw_run(HARNESS_RUN, harness_dataset)[0]
    start = parse_time(manifest["window"]["start"], "start")
    end = parse_time(manifest["window"]["end"], "end")
    import pyarrow.parquet as pq

    pq.write_table(make_trace(start - 5, end + 5), tmp_path / "trace.parquet")
    manifest, _queries, trace, report = import_ipw_run(
        HARNESS_RUN, harness_dataset, trace=tmp_path / "trace.parquet"
    )
    assert trace is not None and trace.num_rows > 100
    assert report.has_trace
    assert not any("no raw telemetry trace" in quirk for quirk in report.quirks)
    # The window is the trace's span intersected with the estimate: here, the estimate.
    assert report.window_from_trace
    window = manifest["window"]
    assert parse_time(window["start"], "start") == pytest.approx(start, abs=1e-3)
    assert parse_time(window["end"], "end") == pytest.approx(end, abs=1e-3)

    # The stand-in trace meters ~120 W where the harness claims ~260 W: with an estimated window
    # that is held for review (a warning naming the estimate), not rejected.
    key = generate_private_key()
    raw = public_key_bytes(key)
    bundle = pack_bundle(tmp_path / "run.ipwb", manifest, _queries, trace)
    sign_bundle(bundle, key)
    result = evaluate(bundle, harness_dataset, trusted_keys={fingerprint(raw): raw})
    checks = {check.code: check for check in result.checks}
    assert checks["telemetry.energy_sum_estimated_window"].status == "warn"
    assert "estimated" in checks["telemetry.energy_sum_estimated_window"].message
    # 37 s of workload: provisional only if that is below the limit (evaluator.limits).
    assert ("timing.short_run" in checks) == (DEFAULT_LIMITS.min_run_s > 37)
    assert "no-trace" not in result.labels and "provisional" in result.labels


def _fresh(path: Path) -> Path:
    path.mkdir()
    return path
