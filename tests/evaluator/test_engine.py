"""evaluate(): labels, warnings and what it hands the server."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from badbundles import CORPUS_KEY, make_valid_bundle, mutate, set_column

from evaluator.engine import evaluate, validate
from evaluator.errors import BundleError
from evaluator.limits import DEFAULT_LIMITS
from evaluator.types import Dataset


def _codes(result: object) -> dict[str, str]:
    return {check.code: check.status for check in result.checks}  # type: ignore[attr-defined]


def test_no_trace_bundle_is_labelled(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    bundle = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, with_trace=False)
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert "no-trace" in result.labels
    assert not result.bundle.has_trace
    assert not any(code.startswith("telemetry.") for code in _codes(result))


def test_challenge_and_real_measurement_drop_labels(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    measurement = {"scope": "accelerator", "method": "nvml_counter", "sampling_period_s": 0.05}
    bundle = make_valid_bundle(
        tmp_path,
        corpus_dataset,
        CORPUS_KEY,
        challenge="nonce-123",
        synthetic=False,
        measurement=measurement,
        # A catalog model: an unknown one would hold the run in the catalog review queue.
        model={
            "id": "llama3.2:1b",
            "revision": "abc123",
            "quantization": "bf16",
            "engine": "vllm",
            "engine_version": "0.6.0",
        },
    )
    # The corpus run lasts ~7 s: below the default minimum, so that rule is relaxed here.
    result = evaluate(
        bundle,
        corpus_dataset,
        trusted_keys=trusted_keys,
        limits=replace(DEFAULT_LIMITS, min_run_s=5),
    )
    assert result.labels == ()
    assert _codes(result)["measurement.consistent"] == "pass"
    assert result.bundle.challenge == "nonce-123"


def test_accuracy_claim_gap_warns_and_makes_provisional(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    bundle = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, claimed={"accuracy": 1.0})
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert _codes(result)["accuracy.claim_gap"] == "warn"
    assert {"accuracy-claim-gap", "provisional"} <= set(result.labels)
    assert result.warned


def test_claim_within_tolerance_is_fine(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    bundle = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, claimed={"accuracy": 0.93})
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert "accuracy-claim-gap" not in result.labels


def test_private_references_leave_items_unscored(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    items = list(corpus_dataset.items)
    items[0] = replace(items[0], reference=None)
    dataset = replace(corpus_dataset, items=tuple(items))
    bundle = make_valid_bundle(tmp_path, dataset, CORPUS_KEY)
    result = evaluate(bundle, dataset, trusted_keys=trusted_keys)
    assert "unscored-items" in result.labels
    assert result.items[0].status == "unscored"
    assert result.metrics.n_scored == len(items) - 1


def test_flat_trace_and_odd_tokens_warn(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    def flatten(table: pa.Table) -> pa.Table:
        stamps = table.column("timestamp_ns").to_numpy()
        power = np.full(len(stamps), 100.0)
        energy = 1000.0 + np.concatenate(([0.0], np.cumsum(np.diff(stamps) / 1e9 * 100.0)))
        return set_column(set_column(table, "power_w", power.tolist()), "energy_j", energy.tolist())

    def fix_energy(table: pa.Table) -> pa.Table:
        latency = np.array(table.column("latency_s").to_pylist())
        tokens = table.column("output_tokens").to_pylist()
        tokens[0] = 100_000
        return set_column(
            set_column(table, "energy_j", (latency * 100.0).tolist()), "output_tokens", tokens
        )

    bundle = mutate(valid_bundle, tmp_path, trace=flatten, queries=fix_energy)
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    codes = _codes(result)
    assert codes["telemetry.flat_trace"] == "warn"
    assert codes["tokens.implausible"] == "warn"
    assert "provisional" in result.labels


def test_latency_disagreeing_with_timestamps_warns(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    def stretch(table: pa.Table) -> pa.Table:
        latency = table.column("latency_s").to_pylist()
        latency[2] *= 0.5
        return set_column(table, "latency_s", latency)

    result = evaluate(
        mutate(valid_bundle, tmp_path, queries=stretch), corpus_dataset, trusted_keys=trusted_keys
    )
    assert _codes(result)["timing.latency_mismatch"] == "warn"


def test_missing_queries_message_lists_ids_and_count(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    bad = mutate(valid_bundle, tmp_path, queries=lambda t: t.slice(0, 2))
    with pytest.raises(BundleError) as raised:
        evaluate(bad, corpus_dataset, trusted_keys=trusted_keys)
    assert raised.value.code == "bundle.workload.missing_queries"
    assert "10 of the dataset's 12" in raised.value.message
    assert "'mc-003'" in raised.value.message and "more" in raised.value.message


def test_rejections_name_file_row_and_field(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    def no_energy(table: pa.Table) -> pa.Table:
        values = table.column("energy_j").to_pylist()
        values[4] = None
        return set_column(table, "energy_j", values)

    with pytest.raises(BundleError) as raised:
        evaluate(
            mutate(valid_bundle, tmp_path, queries=no_energy),
            corpus_dataset,
            trusted_keys=trusted_keys,
        )
    error = raised.value
    assert (error.code, error.file, error.row, error.field) == (
        "bundle.queries.energy_missing",
        "queries.parquet",
        4,
        "energy_j",
    )
    assert error.to_dict()["row"] == 4


def test_workdir_is_left_clean(
    tmp_path: Path, valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys, workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_metrics_are_reproducible_for_a_seed(
    valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    one = evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys, seed=3)
    two = evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys, seed=3)
    assert one.metrics == two.metrics
    assert one.items == two.items


def test_short_measured_run_is_provisional(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    measurement = {"scope": "accelerator", "method": "nvml_counter", "sampling_period_s": 0.05}
    bundle = make_valid_bundle(
        tmp_path, corpus_dataset, CORPUS_KEY, synthetic=False, measurement=measurement
    )
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    short = [c for c in result.checks if c.code == "timing.short_run"]
    assert short and short[0].status == "warn" and "7.4 s" in short[0].message
    assert "provisional" in result.labels
    # Configurable; synthetic runs are exempt (the corpus bundle itself is synthetic).
    relaxed = evaluate(
        bundle,
        corpus_dataset,
        trusted_keys=trusted_keys,
        limits=replace(DEFAULT_LIMITS, min_run_s=7),
    )
    assert "timing.short_run" not in _codes(relaxed)
    synthetic = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, name="synthetic.ipwb")
    assert "timing.short_run" not in _codes(
        evaluate(synthetic, corpus_dataset, trusted_keys=trusted_keys)
    )


def test_doubtful_measurement_class_warns(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    measurement = {"scope": "wall", "method": "rapl", "sampling_period_s": 0.05}
    bundle = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY, measurement=measurement)
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert _codes(result)["measurement.doubtful"] == "warn"
    assert "provisional" in result.labels


@pytest.mark.parametrize(
    ("accelerator", "label", "vendor", "family"),
    [
        # The family is the catalog entry's, whatever the submitter wrote as the vendor.
        ("NVIDIA H100 80GB HBM3", "H10080GB", "someone", "nvidia"),
        ("Apple M3 Max", "GPU", "unknown", "apple"),
        ("AMD Instinct MI300X", "MI300Xx1", "AMD", "amd"),
        # A generic label: its vendor (the harness labels every Mac "GPU").
        ("Apple GPU", "GPU", "unknown", "apple"),
        # Unknown hardware: only a declared vendor that names a family exactly; never a pattern
        # (a "TPU-like" name is not Google's just because it says TPU).
        ("Foo TPU v9", "tpu-v9", "unknown", None),
        ("Demo DC-80", "Demo Datacenter GPU", "DemoGraphics", None),
        ("Mystery X1", "X1", "NVIDIA", "nvidia"),
    ],
)
def test_hardware_family(accelerator: str, label: str, vendor: str, family: str | None) -> None:
    from badbundles import T0, make_dataset, make_manifest

    from evaluator.catalog import load_catalog
    from evaluator.checks.measurement import hardware_family
    from evaluator.manifest_model import Manifest

    hardware = {"label": label, "accelerator": accelerator, "vendor": vendor, "count": 1}
    manifest = Manifest.from_json(make_manifest(make_dataset(), T0, T0 + 60, hardware=hardware))
    match = load_catalog().resolve_hardware(accelerator, label)
    assert hardware_family(manifest, match) == family


def test_results_keep_each_response_for_the_drilldown(tmp_path: Path) -> None:
    """The server stores every response beside its score; they must match the bundle's rows."""
    import zipfile

    import pyarrow.parquet as pq
    from badbundles import CORPUS_KEY, corpus_trusted_keys, make_dataset, make_valid_bundle

    dataset = make_dataset()
    path = make_valid_bundle(tmp_path, dataset, CORPUS_KEY)
    result = evaluate(path, dataset, trusted_keys=corpus_trusted_keys())
    with zipfile.ZipFile(path) as archive:
        archive.extract("queries.parquet", tmp_path / "x")
    table = pq.read_table(tmp_path / "x" / "queries.parquet", columns=["query_id", "response"])
    sent = dict(
        zip(table.column("query_id").to_pylist(), table.column("response").to_pylist(), strict=True)
    )
    assert {item.query_id: item.response for item in result.items} == sent
    assert all(item.response for item in result.items)


def test_validate_runs_the_same_checks_without_scoring(
    valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    checks = validate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys, workdir=work)
    full = evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert [c.code for c in checks] == [c.code for c in full.checks][: len(checks)]
    assert {"archive.safe", "signature.valid", "workload.complete"} <= {c.code for c in checks}
    with pytest.raises(BundleError) as caught:
        validate(valid_bundle, corpus_dataset, trusted_keys={}, workdir=work)
    assert caught.value.code == "bundle.signature.unknown_key"
    assert list(work.iterdir()) == []  # its scratch dir is removed, accepted or not
