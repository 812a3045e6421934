"""Today's reference harness (issue 14): in-window and agentic runs, generated from its documented
schema (tests/harness_gen.py), import, pack, sign and evaluate into the right measurement class,
with their per-query columns and the harness's own claims checked against ours."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import HARNESS_RUN

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.harness_import import import_ipw_run
from evaluator.harness_report import found
from evaluator.keys import fingerprint, generate_private_key, public_key_bytes
from evaluator.manifest_model import Manifest
from evaluator.types import Dataset, EvaluationResult
from tests import harness_gen

KEY = generate_private_key()
TRUSTED = {fingerprint(public_key_bytes(KEY)): public_key_bytes(KEY)}


def _evaluate(
    tmp: Path, dataset: Dataset, manifest: dict[str, Any], queries: pa.Table
) -> EvaluationResult:
    bundle = tmp / f"{manifest['run_id']}.ipwb"
    pack_bundle(bundle, manifest, queries)
    sign_bundle(bundle, KEY)
    return evaluate(bundle, dataset, trusted_keys=TRUSTED)


def _codes(result: EvaluationResult) -> dict[str, str]:
    return {check.code: check.status for check in result.checks}


def test_in_window_run_imports_with_its_columns_and_claims(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    run = harness_gen.write_profile_run(tmp_path / "run", energy_none=[5], reasoning=True)
    manifest, queries, _, report = import_ipw_run(run, harness_dataset)
    assert report.generation == "in_window"
    assert any("profiler_config" in e for e in report.generation_evidence)
    assert manifest["measurement"]["attribution"] == "in_window"
    assert manifest["measurement"]["basis"] == "accelerator"
    assert "workload" not in manifest  # single-turn: the default
    assert manifest["harness"]["version"] == "0.3.0" and manifest["model"]["engine"] == "ollama"
    assert manifest["window"]["start"] == "2026-11-21T03:00:00Z"  # the recorded start_time
    assert not report.window_estimated
    for name in ("reasoning_tokens", "prefill_energy_j", "decode_energy_j", "prefill_s"):
        assert name in queries.column_names
    assert {"cpu_energy_j", "gpu_utilization_pct", "mfu"} <= set(report.optional_columns)
    # The row whose counter went backwards is 0 J, for the board's one zero-energy rule.
    row = queries.column("query_id").to_pylist().index(report.energy_none[0])
    assert queries.column("energy_j")[row].as_py() == 0.0
    assert queries.column("prefill_energy_j")[row].as_py() is None
    assert set(manifest["claimed"]) == {"accuracy", "ipw", "ipj", "energy_imputed"}
    assert any("harness generation: in_window" in line for line in found(report))

    result = _evaluate(tmp_path, harness_dataset, manifest, queries)
    codes = _codes(result)
    assert codes["ipw.claim"] == "pass" and codes["ipj.claim"] == "pass"
    assert "accuracy.claim_gap" not in codes
    assert "energy-imputed" in result.labels and "efficiency-claim-gap" not in result.labels
    spec = result.bundle.manifest.measurement
    assert spec.class_key == ("accelerator", "nvml_counter", "in_window", "accelerator")
    item = result.items[3]
    assert item.input_tokens == 45 and item.reasoning_tokens == 28
    assert item.prefill_s == pytest.approx(0.0547, abs=1e-3)
    assert item.cpu_energy_j is not None and item.turns is None
    assert item.prefill_energy_j + item.decode_energy_j <= item.energy_j


def test_old_fixture_is_the_chained_generation(harness_dataset: Dataset) -> None:
    manifest, _queries, _, report = import_ipw_run(HARNESS_RUN, harness_dataset)
    assert report.generation == "chained" and report.claimed == {}
    assert Manifest.from_json(manifest).measurement.attribution == "chained"
    # A manifest packed before imports recorded the generation still reads as chained; any other
    # manifest without the field is in-window (the bundle format's definition of energy_j).
    legacy = json.loads(json.dumps(manifest))
    del legacy["measurement"]["attribution"], legacy["import"]["generation"]
    assert Manifest.from_json(legacy).measurement.attribution == "chained"
    del legacy["import"]
    assert Manifest.from_json(legacy).measurement.attribution == "in_window"
    assert Manifest.from_json(legacy).measurement.basis == "accelerator"


def test_mac_run_reads_the_whole_soc(tmp_path: Path, harness_dataset: Dataset) -> None:
    run = harness_gen.write_profile_run(tmp_path / "mac", apple=True)
    with pytest.raises(BundleError) as raised:  # the label "GPU" names no chip
        import_ipw_run(run, harness_dataset)
    assert raised.value.code == "harness.hardware.generic"
    manifest, queries, _, _report = import_ipw_run(
        run, harness_dataset, overrides={"hardware": {"accelerator": "Apple M3 Max"}}
    )
    assert manifest["measurement"]["scope"] == "soc"
    assert manifest["measurement"]["basis"] == "soc"
    rows = [r["model_metrics"][harness_gen.MODEL] for r in harness_gen.fixture_rows()]
    assert queries.column("energy_j")[0].as_py() != pytest.approx(
        rows[0]["energy_metrics"]["per_query_joules"]
    )
    assert pc.min(queries.column("ane_energy_j")).as_py() > 0
    result = _evaluate(tmp_path, harness_dataset, manifest, queries)
    assert result.bundle.manifest.measurement.class_key[2:] == ("in_window", "soc")


def test_cpu_plus_accelerator_basis_on_request(tmp_path: Path, harness_dataset: Dataset) -> None:
    run = harness_gen.write_profile_run(tmp_path / "run")
    plain = import_ipw_run(run, harness_dataset)[1]
    manifest, queries, _, _report = import_ipw_run(
        run, harness_dataset, overrides={"measurement": {"basis": "cpu_accelerator"}}
    )
    assert manifest["measurement"]["basis"] == "cpu_accelerator"
    total = queries.column("energy_j").to_pylist()
    gpu, cpu = plain.column("energy_j").to_pylist(), plain.column("cpu_energy_j").to_pylist()
    assert total[0] == pytest.approx(gpu[0] + cpu[0])
    assert "ipw" not in manifest["claimed"]  # ipw analyze used the GPU basis: not comparable
    # A basis the run cannot give is refused at import.
    old = tmp_path / "old"
    shutil.copytree(HARNESS_RUN, old)
    with pytest.raises(BundleError) as raised:
        import_ipw_run(old, harness_dataset, overrides={"measurement": {"basis": "soc"}})
    assert raised.value.code == "harness.basis.unavailable"


def test_overstated_claims_are_held(tmp_path: Path, harness_dataset: Dataset) -> None:
    run = harness_gen.write_profile_run(tmp_path / "run", claim_factor=1.3)
    manifest, queries, *_ = import_ipw_run(run, harness_dataset)
    result = _evaluate(tmp_path, harness_dataset, manifest, queries)
    codes = _codes(result)
    assert codes["ipw.claim_gap"] == "warn" and codes["ipj.claim_gap"] == "warn"
    assert {"efficiency-claim-gap", "provisional"} <= set(result.labels)
    message = next(c.message for c in result.checks if c.code == "ipw.claim_gap")
    assert "claims IPW" in message and "5%" in message


def test_agentic_run_is_one_row_per_task(tmp_path: Path, harness_dataset: Dataset) -> None:
    run = harness_gen.write_agentic_run(tmp_path / "agent")
    manifest, queries, _, report = import_ipw_run(run, harness_dataset)
    assert report.generation == "agentic" and manifest["workload"] == {
        "kind": "agentic",
        "agent": "react",
    }
    assert queries.num_rows == 120
    assert {"turns", "tool_calls", "tool_s", "cpu_energy_j"} <= set(queries.column_names)
    traces = [json.loads(line) for line in (run / "traces.jsonl").read_text().splitlines()]
    first = traces[0]
    row = queries.column("query_id").to_pylist().index(first["query_id"])
    assert queries.column("energy_j")[row].as_py() == first["query_gpu_energy_joules"]
    assert queries.column("turns")[row].as_py() == len(first["turns"])
    assert queries.column("tool_calls")[row].as_py() == sum(
        len(t["tools_called"]) for t in first["turns"]
    )
    assert "ipw" not in manifest["claimed"] and "ipj" in manifest["claimed"]
    result = _evaluate(tmp_path, harness_dataset, manifest, queries)
    assert result.bundle.manifest.workload_kind == "agentic"
    assert _codes(result)["ipj.claim"] == "pass"
    item = next(i for i in result.items if i.query_id == first["query_id"])
    assert item.turns == len(first["turns"]) and item.tool_s == pytest.approx(
        sum(sum(t["tool_latencies_s"].values()) for t in first["turns"])
    )


def test_agentic_without_query_level_energy_sums_its_turns(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    run = harness_gen.write_agentic_run(tmp_path / "agent", query_level=False)
    queries = import_ipw_run(run, harness_dataset)[1]
    first = json.loads((run / "traces.jsonl").read_text().splitlines()[0])
    row = queries.column("query_id").to_pylist().index(first["query_id"])
    assert queries.column("energy_j")[row].as_py() == pytest.approx(
        sum(t["gpu_energy_joules"] for t in first["turns"])
    )


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("cpu_energy_j", -1.0, "bundle.queries.optional_invalid"),
        ("gpu_utilization_pct", 140.0, "bundle.queries.optional_invalid"),
        ("reasoning_tokens", 10_000, "bundle.queries.optional_invalid"),
        ("decode_energy_j", 1e6, "bundle.queries.phase_energy"),
        ("prefill_s", float("nan"), "bundle.queries.non_finite"),
    ],
)
def test_bad_optional_columns_are_rejected(
    tmp_path: Path, harness_dataset: Dataset, column: str, value: float, code: str
) -> None:
    run = harness_gen.write_profile_run(tmp_path / "run", reasoning=True)
    manifest, queries, *_ = import_ipw_run(run, harness_dataset)
    values = queries.column(column).to_pylist()
    values[7] = value
    index = queries.schema.get_field_index(column)
    queries = queries.set_column(index, column, pa.array(values, queries.schema.field(column).type))
    with pytest.raises(BundleError) as raised:
        _evaluate(tmp_path, harness_dataset, manifest, queries)
    assert (raised.value.code, raised.value.row, raised.value.field) == (code, 7, column) or (
        code == "bundle.queries.phase_energy" and raised.value.code == code
    )


def test_basis_must_fit_the_scope(tmp_path: Path, harness_dataset: Dataset) -> None:
    manifest, queries, *_ = import_ipw_run(HARNESS_RUN, harness_dataset)
    manifest["measurement"]["basis"] = "soc"  # a whole-SoC sum from an accelerator meter
    with pytest.raises(BundleError) as raised:
        _evaluate(tmp_path, harness_dataset, manifest, queries)
    assert raised.value.code == "manifest.measurement.basis_scope"
    assert "scope" in raised.value.message


def test_attribution_and_basis_derive_from_the_one_table() -> None:
    """The schema's enums, the doc's copy of the schema and its prose follow
    evaluator.measurement_classes; the doc lists every optional per-query column."""
    from evaluator import measurement_classes as mc
    from evaluator.bundle.tables import OPTIONAL_QUERY_NAMES
    from evaluator.manifest import manifest_schema

    props = manifest_schema()["properties"]["measurement"]["properties"]
    assert props["attribution"]["enum"] == list(mc.ATTRIBUTION_KEYS)
    assert props["basis"]["enum"] == list(mc.BASIS_KEYS)
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "bundle-format.md").read_text("utf-8")
    schema = (root / "evaluator" / "schemas" / "manifest-v1.json").read_text("utf-8").strip()
    assert schema in doc, "Appendix A must quote the manifest schema as it is"
    for key in (*mc.ATTRIBUTION_KEYS, *mc.BASIS_KEYS, *OPTIONAL_QUERY_NAMES):
        assert f"`{key}`" in doc, key
    assert mc.default_basis("soc") == "soc" and mc.basis_fits("soc", "accelerator")
    assert not mc.basis_fits("accelerator", "soc") and not mc.basis_fits("wall", "accelerator")


def test_pack_prints_what_the_import_found(tmp_path: Path, harness_dataset: Dataset) -> None:
    from submissions.cli.main import _report_text

    run = harness_gen.write_agentic_run(tmp_path / "agent")
    report = import_ipw_run(run, harness_dataset)[3]
    text = _report_text(report.to_dict())
    assert text.startswith("Found:\n  - harness generation: agentic (traces.jsonl present)")
    assert "per-query columns carried: cpu_energy_j, turns, tool_calls, tool_s" in text
    assert "Import notes:" in text and "agentic track" in text


def test_runs_get_the_means_of_their_columns_and_the_per_query_file_gives_them_back(
    tmp_path: Path, harness_dataset: Dataset
) -> None:
    """The evaluation's means (evaluator.metrics.MEAN_COLUMNS) from first scoring equal those
    re-judging and the backfill compute from the per-query file (evaluator.rejudge.means_of)."""
    from evaluator.perquery import results_table
    from evaluator.rejudge import means_of

    new = harness_gen.write_profile_run(tmp_path / "new", reasoning=True)
    manifest, queries, *_ = import_ipw_run(new, harness_dataset)
    result = _evaluate(tmp_path, harness_dataset, manifest, queries)
    means = result.metrics.means
    reasoning = queries.column("reasoning_tokens").to_pylist()
    assert None not in reasoning
    assert means["mean_reasoning_tokens"] == pytest.approx(sum(reasoning) / len(reasoning))
    for name in ("mean_input_tokens", "mean_prefill_energy_j", "mean_cpu_energy_j"):
        assert means[name] is not None and means[name] > 0, name
    assert means["mean_turns"] is None  # single-turn: not an agentic column
    assert means_of(results_table(result.items)) == pytest.approx(means)

    agent = harness_gen.write_agentic_run(tmp_path / "agent")
    manifest, queries, *_ = import_ipw_run(agent, harness_dataset)
    result = _evaluate(tmp_path, harness_dataset, manifest, queries)
    turns = queries.column("turns").to_pylist()
    assert result.metrics.means["mean_turns"] == pytest.approx(sum(turns) / len(turns))
    assert result.metrics.means["mean_tool_calls"] and result.metrics.means["mean_tool_s"]
    assert means_of(results_table(result.items)) == pytest.approx(result.metrics.means)
