"""The catalog, the measurement-class table and the physics checks (issue 11), engine side."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from badbundles import CORPUS_KEY, make_valid_bundle, mutate
from badbundles.cases_physics import measured

from evaluator import measurement_classes as mc
from evaluator.catalog import load_catalog
from evaluator.checks.physics import (
    RULES,
    bits_per_weight,
    check_physics,
    power_bounds,
    roofline_tok_s,
)
from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.manifest import manifest_schema
from evaluator.manifest_model import Manifest
from evaluator.names import clean_name, confusable_with, skeleton
from evaluator.types import Dataset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def h100(catalog):
    entry = catalog.resolve_hardware("NVIDIA H100 80GB HBM3").entry
    assert entry is not None
    return entry


# -- the one measurement-class table and its derived copies ------------------------------------


def test_schema_enums_are_the_measurement_class_table() -> None:
    props = manifest_schema()["properties"]["measurement"]["properties"]
    assert props["scope"]["enum"] == list(mc.SCOPE_KEYS)
    assert props["method"]["enum"] == list(mc.METHOD_KEYS)


def test_board_vocabulary_and_docs_derive_from_the_table() -> None:
    from ipwboard.board import vocab

    assert list(vocab.SCOPES) == list(mc.SCOPE_KEYS)
    assert list(vocab.METHODS) == list(mc.METHOD_KEYS)
    doc = (ROOT / "docs" / "bundle-format.md").read_text("utf-8")
    schema_in_doc = re.search(r'"method": \{\s*"enum": (\[.*?\])', doc, re.DOTALL)
    assert schema_in_doc is not None, "the bundle-format doc quotes the manifest schema"
    assert json.loads(schema_in_doc.group(1)) == list(mc.METHOD_KEYS)
    for key in mc.METHOD_KEYS:
        assert f"`{key}`" in doc, f"docs/bundle-format.md must describe method {key}"


def test_catalog_methods_are_known_methods(catalog) -> None:
    for entry in catalog.accelerators.values():
        assert set(entry.methods) <= set(mc.METHOD_KEYS), entry.key


# -- resolution ---------------------------------------------------------------------------------


def test_harness_label_and_nvml_name_resolve_to_one_h100(catalog) -> None:
    by_label = catalog.resolve_hardware("H10080GB").entry
    by_nvml = catalog.resolve_hardware("NVIDIA H100 80GB HBM3").entry
    assert by_label is not None and by_label == by_nvml
    assert by_label.vendor == "nvidia" and by_label.device_class == "datacenter"
    assert by_label.tdp_w == 700 and by_label.release_date
    assert by_label.sources["tdp_w"].startswith("https://")


def test_most_specific_name_wins_and_generic_labels_are_flagged(catalog) -> None:
    match = catalog.resolve_hardware("Apple M3 Max", "GPU")
    assert match.entry is not None and match.entry.vendor == "apple"
    generic = catalog.resolve_hardware("Apple GPU", "GPU")
    assert generic.entry is None and generic.generic is not None
    assert generic.generic.vendor == "apple"
    unknown = catalog.resolve_hardware("Foo Accelerator 9000", "FOO9000")
    assert unknown.entry is None and unknown.generic is None


def test_model_aliases_and_implied_quantization(catalog) -> None:
    by_tag = catalog.resolve_model("llama3.2:1b")
    by_repo = catalog.resolve_model("meta-llama/Llama-3.2-1B-Instruct")
    assert by_tag.entry is not None and by_tag.entry == by_repo.entry
    assert by_tag.entry.release_date and by_tag.entry.params_total_b
    qwen = catalog.resolve_model("qwen3:4b").entry
    assert qwen is not None and "Qwen3" in qwen.name
    assert catalog.resolve_model("qwen3:4b-but-not-really").entry is None


def test_staff_mappings_extend_the_catalog(catalog) -> None:
    key = h100(catalog).key
    assert catalog.resolve_hardware("gpu-node-h100-custom").entry is None
    extended = catalog.extended(hardware_aliases={"gpu-node-h100-custom": key})
    assert extended.resolve_hardware("GPU Node H100 Custom").entry.key == key
    assert catalog.resolve_hardware("gpu-node-h100-custom").entry is None  # the base is unchanged


# -- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["llama3.2:1b\u200b", "llama\u202e3.2:1b", "qwen3\u20664b", "bad\x00name", "x\u2028y"],
)
def test_hidden_characters_are_refused(name: str) -> None:
    with pytest.raises(BundleError) as raised:
        clean_name(name, "model.id")
    assert raised.value.code == "manifest.name_invalid"
    assert "U+" in raised.value.message and raised.value.field == "model.id"


def test_names_are_nfkc_normalised() -> None:
    assert clean_name("ＬＬａｍａ３", "model.id") == "LLama3"


def test_cyrillic_lookalike_is_confusable_with_the_real_name(catalog) -> None:
    fake = "llаma3.2:1b"  # Cyrillic a
    assert fake != "llama3.2:1b" and skeleton(fake) == skeleton("llama3.2:1b")
    assert confusable_with(fake, catalog.known_names()) is not None
    assert confusable_with("llama3.2:1b", ["llama3.2:1b"]) is None


# -- physics ---------------------------------------------------------------------------------------


def _manifest(**changes: object) -> Manifest:
    raw = {
        "format_version": "1.0",
        "run_id": "00000000-0000-4000-8000-000000000000",
        "created_at": "2026-01-01T00:00:00Z",
        "synthetic": False,
        "harness": {"name": "t", "version": "1"},
        "model": {
            "id": "llama3.2:1b",
            "revision": "r",
            "quantization": "bf16",
            "engine": "vllm",
            "engine_version": "1",
        },
        "hardware": {
            "label": "H10080GB",
            "accelerator": "NVIDIA H100 80GB HBM3",
            "vendor": "NVIDIA",
            "count": 1,
            "class": "cloud",
        },
        "system": {},
        "dataset": {"slug": "d", "version": "1", "sha256": "0" * 64},
        "measurement": {
            "scope": "accelerator",
            "method": "nvml_counter",
            "sampling_period_s": 0.05,
        },
        "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"},
        "challenge": None,
        "claimed": {},
    }
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            raw[section][field] = value  # type: ignore[index]
        else:
            raw[section] = value
    return Manifest.from_json(raw)


def _run(power_w: float, n: int = 100, tokens: int = 100, latency: float = 2.0) -> dict:
    return {
        "energy_j": np.full(n, power_w * latency),
        "latency_s": np.full(n, latency),
        "ttft_s": np.full(n, 0.2),
        "output_tokens": np.full(n, float(tokens)),
    }


def _physics(catalog, manifest: Manifest, **run: np.ndarray):
    model = catalog.resolve_model(manifest.model.id)
    return check_physics(manifest, h100(catalog), model.entry, model.quantization, **run)


def test_an_honest_h100_run_passes(catalog) -> None:
    checks = _physics(catalog, _manifest(), **_run(250.0))
    assert {c.code for c in checks} >= {"physics.power", "physics.roofline"}
    assert all(c.status == "pass" for c in checks)


@pytest.mark.parametrize(
    ("power", "code"),
    [(0.001, "physics.power_below_idle"), (45_900.0, "physics.power_above_tdp")],
)
def test_impossible_power_is_rejected_with_the_numbers(catalog, power: float, code: str) -> None:
    with pytest.raises(BundleError) as raised:
        _physics(catalog, _manifest(), **_run(power))
    assert raised.value.code == code
    assert "W" in raised.value.message and "H100" in raised.value.message


def test_a_few_outlier_queries_pass_but_many_do_not(catalog) -> None:
    run = _run(250.0)
    run["energy_j"][:3] = 0.0001  # 3%: the chained-attribution and step quirks allow this
    assert _physics(catalog, _manifest(), **run)
    run["energy_j"][:10] = 0.0001  # 10%
    with pytest.raises(BundleError) as raised:
        _physics(catalog, _manifest(), **run)
    assert raised.value.code == "physics.power_below_idle"


def test_near_a_bound_is_held_for_review(catalog) -> None:
    ceiling = power_bounds("accelerator", h100(catalog), 1).ceiling_w
    checks = _physics(catalog, _manifest(), **_run(ceiling * 0.97))
    assert [c.status for c in checks if c.code == "physics.near_bound"] == ["warn"]


def test_wall_scope_allows_a_host(catalog) -> None:
    wall = _manifest(
        measurement={"scope": "wall", "method": "external_meter", "sampling_period_s": 1}
    )
    assert _physics(catalog, wall, **_run(1200.0))  # above one H100's TDP: the host draws too
    with pytest.raises(BundleError):
        _physics(catalog, wall, **_run(45_900.0))


def test_cpu_plus_accelerator_basis_allows_the_host_cpu(catalog) -> None:
    """An honest NVML + RAPL run near the GPU's TDP: 650 W of H100 and 300 W of host CPU."""
    both = _manifest(measurement__basis="cpu_accelerator")
    with pytest.raises(BundleError) as raised:  # the same watts on the GPU's rail alone
        _physics(catalog, _manifest(), **_run(950.0))
    assert raised.value.code == "physics.power_above_tdp"
    checks = _physics(catalog, both, **_run(950.0))
    assert all(c.status == "pass" for c in checks), checks
    bounds = power_bounds("accelerator", h100(catalog), 1, energy_basis="cpu_accelerator")
    allowance = dict(RULES.host_cpu_allowance_by_class_w)["datacenter"]
    assert bounds.ceiling_w == power_bounds("accelerator", h100(catalog), 1).ceiling_w + allowance
    assert "host CPU" in bounds.basis
    # Once per host, not per device; and never beyond what a server's CPUs can add.
    eight = power_bounds("accelerator", h100(catalog), 8, energy_basis="cpu_accelerator")
    assert eight.ceiling_w == power_bounds("accelerator", h100(catalog), 8).ceiling_w + allowance
    with pytest.raises(BundleError) as raised:
        _physics(catalog, both, **_run(2_500.0))
    assert raised.value.code == "physics.power_above_tdp"
    assert "host CPU" in raised.value.message
    # A package's rating already covers its CPU; the wall has its own host allowance.
    assert power_bounds("soc", h100(catalog), 1, energy_basis="cpu_accelerator") == power_bounds(
        "soc", h100(catalog), 1
    )


def test_roofline_and_speculative_decoding(catalog) -> None:
    entry = h100(catalog)
    model = catalog.resolve_model("llama3.2:1b").entry
    ceiling = roofline_tok_s(entry, model, 1, "bf16")
    assert ceiling is not None and 1000 < ceiling < 2000  # 3.35 TB/s / 2.5 GB of bf16 weights
    fast = _run(250.0, tokens=int(ceiling * 2 * 1.8) + 1)  # 2x the roofline over 1.8 s decode
    with pytest.raises(BundleError) as raised:
        _physics(catalog, _manifest(), **fast)
    assert raised.value.code == "physics.throughput_above_roofline"
    assert "GB/s" in raised.value.message
    speculative = _manifest(model={**_manifest().raw["model"], "speculative_decoding": True})
    assert _physics(catalog, speculative, **fast)  # declared drafting: up to 4x, and labelled
    # More bits per weight, lower roofline; an unknown label is the most lenient.
    assert bits_per_weight("bf16") > bits_per_weight("Q4_K_M") > bits_per_weight("mystery")


def test_unknown_hardware_is_not_judged_but_held(catalog) -> None:
    model = catalog.resolve_model("llama3.2:1b")
    checks = check_physics(_manifest(), None, model.entry, None, **_run(0.001))
    assert [(c.code, c.status) for c in checks] == [("physics.not_judged", "warn")]


def test_rules_are_documented_from_the_code() -> None:
    from evaluator.checks.physics import describe_rules

    text = " ".join(rule for _, rule in describe_rules())
    assert f"{1 + RULES.tdp_margin:g} x rated power" in text
    assert f"{RULES.roofline_margin:g} x memory bandwidth" in text


# -- through evaluate(), with and without a trace ------------------------------------------------


def test_honest_measured_run_of_catalog_pair_is_resolved(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    valid = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY)
    bundle = mutate(valid, tmp_path, manifest=measured, name="honest.ipwb")
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    catalog = load_catalog()
    assert result.bundle.catalog.hardware_key == h100(catalog).key
    assert result.bundle.catalog.model_key == catalog.resolve_model("llama3.2:1b").entry.key
    codes = {c.code: c.status for c in result.checks}
    assert codes["physics.power"] == "pass" and codes["catalog.resolved"] == "pass"


def test_honest_cpu_plus_accelerator_run_near_the_gpu_tdp_passes_with_trace(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    from badbundles.cases_physics import cpu_plus_accelerator, scale_queries, scale_trace

    factor = 950 / 120  # the corpus run draws ~120 W: 950 W of GPU and host CPU together
    valid = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY)
    bundle = mutate(
        valid,
        tmp_path,
        manifest=cpu_plus_accelerator,
        queries=scale_queries(factor),
        trace=scale_trace(factor),
        name="cpu-accelerator.ipwb",
    )
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    power = next(c for c in result.checks if c.code == "physics.power")
    assert power.status == "pass" and "H100" in power.message
    assert result.bundle.manifest.measurement.basis == "cpu_accelerator"


def test_unknown_names_are_held_not_rejected(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    valid = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY)

    def unknown(manifest: dict) -> None:
        measured(manifest)
        manifest["hardware"].update(label="FOO9000", accelerator="Foo Accelerator 9000")
        manifest["model"]["id"] = "llаma3.2:1b"  # Cyrillic a: a look-alike

    bundle = mutate(valid, tmp_path, manifest=unknown, name="unknown.ipwb")
    result = evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    codes = {c.code: c.status for c in result.checks}
    assert codes["catalog.unknown_hardware"] == "warn"
    assert codes["catalog.unknown_model"] == "warn"
    assert codes["manifest.name_confusable"] == "warn"
    assert codes["physics.not_judged"] == "warn"
    assert "provisional" in result.labels
    assert result.bundle.catalog.hardware_key is None


def test_invisible_characters_in_a_manifest_name_reject_the_bundle(
    tmp_path: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    valid = make_valid_bundle(tmp_path, corpus_dataset, CORPUS_KEY)

    def hidden(manifest: dict) -> None:
        manifest["model"]["id"] = "llama3.2:1b\u200b"

    bundle = mutate(valid, tmp_path, manifest=hidden, name="hidden.ipwb")
    with pytest.raises(BundleError) as raised:
        evaluate(bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert raised.value.code == "manifest.name_invalid"
