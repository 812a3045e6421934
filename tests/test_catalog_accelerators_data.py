"""The curated accelerator catalog (``data/catalog/accelerators.json``) as data (issue 11).

Each rule is a function that returns the problems it finds in a catalog document, so the same code
checks the shipped file (which must have none) and deliberately broken copies (which must be
caught: a checker that finds nothing in a broken file would pass forever).

Names are compared the way the loader matches them (``evaluator.catalog.normalise_hardware_name``:
NFKC, case-folded, without spaces, underscores and hyphens), so a name that collides here would
collide at resolution time.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from evaluator.catalog import normalise_hardware_name

ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = ROOT / "data" / "catalog"
HARNESS_SUMMARY = (
    ROOT
    / "tests"
    / "fixtures"
    / "ipw-harness-runs"
    / "profile_H10080GB_llama3_2_1b"
    / "summary.json"
)
FIGURES = ("memory_gb", "memory_bandwidth_gbs", "tdp_w", "release_date")
GENERIC = "<generic>"

Doc = dict[str, Any]


def _load(name: str) -> Doc:
    data: Doc = json.loads((CATALOG_DIR / name).read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def doc() -> Doc:
    return _load("accelerators.json")


@pytest.fixture(scope="module")
def schema() -> Doc:
    return _load("schema/accelerators.schema.json")


# -- the rules ----------------------------------------------------------------------------------


def schema_problems(doc: Doc, schema: Doc) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in Draft202012Validator(schema).iter_errors(doc)]


def source_problems(doc: Doc) -> list[str]:
    """Every published figure names the vendor page it comes from; no source without a figure."""
    out = []
    for entry in doc["entries"]:
        sources = entry.get("sources", {})
        present = {f for f in FIGURES if entry.get(f) is not None}
        idle = entry.get("idle_power_w") or {}
        if idle.get("low") is not None or idle.get("high") is not None:
            present.add("idle_power_w")
        for figure in sorted(present - set(sources)):
            out.append(f"{entry['key']}: {figure} has no source")
        for figure in sorted(set(sources) - present):
            out.append(f"{entry['key']}: source for {figure}, which is null")
        for figure, url in sources.items():
            if not str(url).startswith("https://"):
                out.append(f"{entry['key']}: {figure} source is not an https URL")
    return out


def key_problems(doc: Doc) -> list[str]:
    seen: set[str] = set()
    out = []
    for entry in doc["entries"]:
        if entry["key"] in seen:
            out.append(f"duplicate key {entry['key']}")
        seen.add(entry["key"])
    return out


def _names(entry: Doc) -> list[str]:
    # The loader indexes the canonical name as well as the aliases.
    return [entry["name"], *entry.get("aliases", [])]


def alias_problems(doc: Doc) -> list[str]:
    """A name resolves to exactly one entry, and is listed once (pure case/space variants are
    redundant: matching ignores them)."""
    owner: dict[str, tuple[str, str]] = {}
    out = []
    for entry in doc["entries"]:
        for name in _names(entry):
            norm = normalise_hardware_name(name)
            if norm in owner:
                other_key, other_name = owner[norm]
                out.append(f"{name!r} ({entry['key']}) collides with {other_name!r} ({other_key})")
            else:
                owner[norm] = (entry["key"], name)
    return out


def generic_problems(doc: Doc) -> list[str]:
    """A generic label names no chip: it must not also resolve to an entry, nor repeat."""
    taken = {normalise_hardware_name(n): e["key"] for e in doc["entries"] for n in _names(e)}
    seen: set[str] = set()
    out = []
    for generic in doc["generic_labels"]:
        norm = normalise_hardware_name(generic["label"])
        if norm in taken:
            out.append(f"generic label {generic['label']!r} is also a name of {taken[norm]}")
        if norm in seen:
            out.append(f"generic label {generic['label']!r} listed twice")
        seen.add(norm)
    return out


def date_problems(doc: Doc) -> list[str]:
    out = []
    for entry in doc["entries"]:
        date = entry.get("release_date")
        if date is None:
            continue
        try:
            dt.date.fromisoformat(date if len(date) == 10 else f"{date}-01")
        except ValueError:
            out.append(f"{entry['key']}: release_date {date!r} is not a calendar date")
    return out


def consistency_problems(doc: Doc) -> list[str]:
    """Kinds, form factors and metering methods that belong together."""
    out = []
    for e in doc["entries"]:
        key, methods = e["key"], set(e["methods"])
        if (e["kind"] == "cpu") != (e["form_factor"] == "cpu-socket"):
            out.append(f"{key}: kind cpu goes with form factor cpu-socket and only with it")
        if e["kind"] == "cpu" and "rapl" not in methods:
            out.append(f"{key}: a CPU entry is metered by RAPL")
        if e["vendor"] == "apple" and methods != {"powermetrics", "external_meter"}:
            out.append(f"{key}: Apple silicon is metered by powermetrics or an external meter")
        if e["vendor"] == "apple" and not e["name"].startswith("Apple "):
            out.append(f"{key}: Apple names follow the macOS CPU brand ('Apple M3 Max')")
        if e["form_factor"] == "module" and methods != {"external_meter"}:
            out.append(f"{key}: NVML reports no power on Jetson modules")
        nvidia_gpu = e["vendor"] == "nvidia" and e["kind"] == "gpu"
        if nvidia_gpu and not {"nvml_counter", "nvml_polling"} <= methods:
            out.append(f"{key}: an NVIDIA GPU is metered through NVML")
        if e["vendor"] == "amd" and e["kind"] == "gpu" and "rocm_smi" not in methods:
            out.append(f"{key}: an AMD GPU is metered through ROCm SMI")
        if "rocm_smi" in methods and e["vendor"] != "amd":
            out.append(f"{key}: rocm_smi meters AMD GPUs only")
        if methods & {"nvml_counter", "nvml_polling"} and not nvidia_gpu:
            out.append(f"{key}: NVML meters NVIDIA GPUs only")
        low, high = e["idle_power_w"]["low"], e["idle_power_w"]["high"]
        if low is not None and high is not None and low > high:
            out.append(f"{key}: idle range low > high")
        ceiling = e["tdp_w"]
        if ceiling is not None and high is not None and high >= ceiling:
            out.append(f"{key}: idle power at or above rated power")
    return out


def all_problems(doc: Doc, schema: Doc) -> list[str]:
    return [
        *schema_problems(doc, schema),
        *source_problems(doc),
        *key_problems(doc),
        *alias_problems(doc),
        *generic_problems(doc),
        *date_problems(doc),
        *consistency_problems(doc),
    ]


def resolve(doc: Doc, name: str) -> str | None:
    """The key a name resolves to, GENERIC for a generic label, or None."""
    norm = normalise_hardware_name(name)
    for entry in doc["entries"]:
        if norm in {normalise_hardware_name(n) for n in _names(entry)}:
            return str(entry["key"])
    if norm in {normalise_hardware_name(g["label"]) for g in doc["generic_labels"]}:
        return GENERIC
    return None


# -- the shipped catalog --------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema(schema: Doc) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    "rule",
    [
        source_problems,
        key_problems,
        alias_problems,
        generic_problems,
        date_problems,
        consistency_problems,
    ],
    ids=lambda rule: rule.__name__,
)
def test_catalog_follows_the_rule(doc: Doc, rule: Callable[[Doc], list[str]]) -> None:
    assert rule(doc) == []


def test_catalog_follows_its_schema(doc: Doc, schema: Doc) -> None:
    assert schema_problems(doc, schema) == []


# Names a submission or the reference harness writes -> the entry they must resolve to.
REQUIRED = {
    # NVIDIA data centre: NVML device names, harness labels (the harness appends " xN" to the
    # device name before deriving its label, so single-token names carry the GPU count).
    "NVIDIA H100 80GB HBM3": "nvidia-h100-sxm",
    "H10080GB": "nvidia-h100-sxm",
    "H100 SXM": "nvidia-h100-sxm",
    "H100 SXM5": "nvidia-h100-sxm",
    "NVIDIA H100 PCIe": "nvidia-h100-pcie",
    "NVIDIA H100 NVL": "nvidia-h100-nvl",
    "NVIDIA H200": "nvidia-h200-sxm",
    "H200x8": "nvidia-h200-sxm",
    "NVIDIA H200 NVL": "nvidia-h200-nvl",
    "NVIDIA B200": "nvidia-b200",
    "B200x8": "nvidia-b200",
    "NVIDIA A100-SXM4-80GB": "nvidia-a100-sxm4-80gb",
    "NVIDIA A100-SXM4-40GB": "nvidia-a100-sxm4-40gb",
    "A100-SXM4-40GB": "nvidia-a100-sxm4-40gb",
    "NVIDIA A100 80GB PCIe": "nvidia-a100-pcie-80gb",
    "A10080GB": "nvidia-a100-pcie-80gb",
    "NVIDIA A100-PCIE-40GB": "nvidia-a100-pcie-40gb",
    "Tesla V100-SXM2-16GB": "nvidia-v100-sxm2-16gb",
    "Tesla V100-SXM2-32GB": "nvidia-v100-sxm2-32gb",
    "Tesla V100-PCIE-16GB": "nvidia-v100-pcie-16gb",
    "Tesla V100-PCIE-32GB": "nvidia-v100-pcie-32gb",
    "NVIDIA L4": "nvidia-l4",
    "L4x1": "nvidia-l4",
    "NVIDIA L40S": "nvidia-l40s",
    "L40Sx4": "nvidia-l40s",
    # Workstation, desktop and laptop NVIDIA parts.
    "NVIDIA RTX A2000": "nvidia-rtx-a2000",
    "NVIDIA RTX A2000 12GB": "nvidia-rtx-a2000-12gb",
    "NVIDIA RTX A6000": "nvidia-rtx-a6000",
    "RTXA6000": "nvidia-rtx-a6000",
    "NVIDIA RTX 6000 Ada Generation": "nvidia-rtx-6000-ada",
    "NVIDIA GeForce RTX 3090": "nvidia-geforce-rtx-3090",
    "NVIDIA GeForce RTX 4090": "nvidia-geforce-rtx-4090",
    "NVIDIA GeForce RTX 5090": "nvidia-geforce-rtx-5090",
    "NVIDIA GeForce RTX 4090 Laptop GPU": "nvidia-geforce-rtx-4090-laptop",
    "NVIDIA GeForce RTX 4080 Laptop GPU": "nvidia-geforce-rtx-4080-laptop",
    "NVIDIA GeForce RTX 4070 Laptop GPU": "nvidia-geforce-rtx-4070-laptop",
    "NVIDIA GeForce RTX 5090 Laptop GPU": "nvidia-geforce-rtx-5090-laptop",
    # Jetson (device-tree model names, as the harness's Jetson collector reports them).
    "NVIDIA Jetson Orin Nano Developer Kit": "nvidia-jetson-orin-nano-8gb",
    "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super": (
        "nvidia-jetson-orin-nano-8gb"
    ),
    "Jetson Orin NX 16GB": "nvidia-jetson-orin-nx-16gb",
    "Jetson AGX Orin 64GB": "nvidia-jetson-agx-orin-64gb",
    # AMD: ROCm names and harness labels.
    "AMD Instinct MI250X": "amd-instinct-mi250x",
    "MI250Xx2": "amd-instinct-mi250x",
    "AMD Instinct MI300X": "amd-instinct-mi300x",
    "AMD Instinct MI300X OAM": "amd-instinct-mi300x",
    "MI300Xx8": "amd-instinct-mi300x",
    "AMD Instinct MI325X": "amd-instinct-mi325x",
    "AMD Instinct MI355X": "amd-instinct-mi355x",
    "AMD Radeon RX 7900 XTX": "amd-radeon-rx-7900-xtx",
    # Apple: macOS CPU brand strings.
    "Apple M1": "apple-m1",
    "Apple M1 Pro": "apple-m1-pro",
    "Apple M1 Max": "apple-m1-max",
    "Apple M1 Ultra": "apple-m1-ultra",
    "Apple M2": "apple-m2",
    "Apple M2 Pro": "apple-m2-pro",
    "Apple M2 Max": "apple-m2-max",
    "Apple M2 Ultra": "apple-m2-ultra",
    "Apple M3": "apple-m3",
    "Apple M3 Pro": "apple-m3-pro",
    "Apple M3 Max": "apple-m3-max",
    "M3 Max": "apple-m3-max",
    "Apple M3 Ultra": "apple-m3-ultra",
    "Apple M4": "apple-m4",
    "Apple M4 Pro": "apple-m4-pro",
    "Apple M4 Max": "apple-m4-max",
    # Qualcomm and CPUs (brand strings as the OS reports them, and harness labels).
    "Snapdragon X Elite": "qualcomm-snapdragon-x-elite",
    "X1E80100": "qualcomm-snapdragon-x-elite",
    "Intel(R) Xeon(R) Platinum 8480+": "intel-xeon-platinum-8480plus",
    "8480": "intel-xeon-platinum-8480plus",
    "AMD EPYC 9654 96-Core Processor": "amd-epyc-9654",
    "EPYC9654": "amd-epyc-9654",
    "13th Gen Intel(R) Core(TM) i9-13900K": "intel-core-i9-13900k",
    "Intel Xeon (RAPL package)": "intel-xeon-rapl",
    "AMD EPYC (RAPL package)": "amd-epyc-rapl",
    "Intel Core desktop (RAPL package)": "intel-core-desktop-rapl",
    "Intel Core laptop (RAPL package)": "intel-core-laptop-rapl",
}

# Labels that name no chip, as the reference harness or users write them.
REQUIRED_GENERIC = {
    "GPU": "apple",  # the harness labels a Mac "GPU"
    "Apple GPU": "apple",
    "Apple Silicon": "apple",
    "mps": "apple",
    "M3": "apple",  # the harness drops Pro/Max/Ultra from "Apple M3 Max"
    "CPU": None,
    "NVIDIA GPU": "nvidia",
    "cuda": "nvidia",
    "AMD GPU": "amd",
    "H100": "nvidia",  # H100 PCIe, older-harness H100 NVL and what people call the SXM part
    "A100SXM4": "nvidia",  # 40 GB and 80 GB
    "RTX4090": "nvidia",  # desktop and laptop
    "NVLx1": "nvidia",  # H100 NVL and H200 NVL
    "OAMx8": "amd",  # any Instinct OAM module
    "TMi9": "intel",  # any Core i9
    "UNKNOWN_HW": None,
}


@pytest.mark.parametrize(("name", "key"), sorted(REQUIRED.items()))
def test_required_coverage(doc: Doc, name: str, key: str) -> None:
    assert resolve(doc, name) == key


@pytest.mark.parametrize(("label", "vendor"), sorted(REQUIRED_GENERIC.items()))
def test_required_generic_labels(doc: Doc, label: str, vendor: str | None) -> None:
    norm = normalise_hardware_name(label)
    found = [g for g in doc["generic_labels"] if normalise_hardware_name(g["label"]) == norm]
    assert len(found) == 1, label
    assert found[0]["vendor"] == vendor
    assert resolve(doc, label) == GENERIC


def test_the_real_harness_run_resolves_by_label_and_by_device_name(doc: Doc) -> None:
    summary = json.loads(HARNESS_SUMMARY.read_text("utf-8"))
    device = summary["gpu_info"]["name"].rsplit(" x", 1)[0]  # the harness appends " x<count>"
    assert resolve(doc, summary["hardware_label"]) == "nvidia-h100-sxm"
    assert resolve(doc, device) == "nvidia-h100-sxm"


def test_the_h100_family_figures_are_consistent(doc: Doc) -> None:
    by_key = {e["key"]: e for e in doc["entries"]}
    assert [
        by_key[k]["tdp_w"] for k in ("nvidia-h100-sxm", "nvidia-h100-pcie", "nvidia-h100-nvl")
    ] == [
        700,
        350,
        400,
    ]
    assert by_key["nvidia-h100-sxm"]["memory_gb"] == 80
    assert by_key["nvidia-h100-nvl"]["memory_gb"] == 94


def test_no_idle_power_is_invented(doc: Doc) -> None:
    # Vendors publish no idle power for these parts; a value here would be a guess.
    for entry in doc["entries"]:
        idle = entry["idle_power_w"]
        if idle["low"] is not None or idle["high"] is not None:
            assert "idle_power_w" in entry["sources"], entry["key"]


# -- the rules catch what they are for ------------------------------------------------------


def _broken(doc: Doc, change: Callable[[Doc], None]) -> Doc:
    bad = copy.deepcopy(doc)
    change(bad)
    return bad


def _entry(doc: Doc, key: str) -> Doc:
    return next(e for e in doc["entries"] if e["key"] == key)


BREAKAGES: dict[str, tuple[Callable[[Doc], None], str]] = {
    "figure without a source": (
        lambda d: _entry(d, "nvidia-l4")["sources"].pop("tdp_w"),
        "nvidia-l4: tdp_w has no source",
    ),
    "idle power without a source": (
        lambda d: _entry(d, "nvidia-l4").__setitem__("idle_power_w", {"low": 10, "high": 16}),
        "nvidia-l4: idle_power_w has no source",
    ),
    "source for a null figure": (
        lambda d: _entry(d, "apple-m1")["sources"].__setitem__("tdp_w", "https://www.apple.com/"),
        "apple-m1: source for tdp_w, which is null",
    ),
    "duplicate key": (
        lambda d: d["entries"].append(copy.deepcopy(_entry(d, "nvidia-l4"))),
        "duplicate key nvidia-l4",
    ),
    "alias of two entries": (
        lambda d: _entry(d, "nvidia-h100-nvl")["aliases"].append("h100-80gb"),
        "'h100-80gb' (nvidia-h100-nvl) collides with 'H10080GB' (nvidia-h100-sxm)",
    ),
    "alias repeating the name": (
        lambda d: _entry(d, "nvidia-b200")["aliases"].append("NVIDIA_B200"),
        "'NVIDIA_B200' (nvidia-b200) collides with 'NVIDIA B200' (nvidia-b200)",
    ),
    "generic label that resolves": (
        lambda d: _entry(d, "apple-m3-max")["aliases"].append("gpu"),
        "generic label 'GPU' is also a name of apple-m3-max",
    ),
    "impossible date": (
        lambda d: _entry(d, "nvidia-l4").__setitem__("release_date", "2023-02-30"),
        "nvidia-l4: release_date '2023-02-30' is not a calendar date",
    ),
    "Jetson metered by NVML": (
        lambda d: _entry(d, "nvidia-jetson-orin-nano-8gb")["methods"].append("nvml_polling"),
        "nvidia-jetson-orin-nano-8gb: NVML reports no power on Jetson modules",
    ),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_broken_catalog_is_caught(doc: Doc, schema: Doc, breakage: str) -> None:
    change, expected = BREAKAGES[breakage]
    problems = all_problems(_broken(doc, change), schema)
    assert expected in problems


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: _entry(d, "nvidia-l4").__setitem__("form_factor", "dongle"), "form_factor"),
        (lambda d: _entry(d, "nvidia-l4").__setitem__("tdp_w", -72), "tdp_w"),
        (lambda d: _entry(d, "nvidia-l4").__setitem__("rating", 5), "rating"),
        (lambda d: _entry(d, "nvidia-l4").__setitem__("key", "NVIDIA L4"), "key"),
        (lambda d: _entry(d, "nvidia-l4")["methods"].append("tegrastats"), "methods"),
        (
            lambda d: _entry(d, "nvidia-l4")["sources"].__setitem__(
                "tdp_w", "http://nvidia.com/l4"
            ),
            "sources",
        ),
        (lambda d: _entry(d, "nvidia-l4").__setitem__("release_date", "March 2023"), "release"),
        (lambda d: d["generic_labels"][0].pop("why"), "why"),
    ],
    ids=[
        "form-factor",
        "negative-tdp",
        "unknown-field",
        "key-pattern",
        "method",
        "http-source",
        "date-format",
        "generic-why",
    ],
)
def test_the_schema_refuses_malformed_entries(
    doc: Doc, schema: Doc, change: Callable[[Doc], None], where: str
) -> None:
    problems = schema_problems(_broken(doc, change), schema)
    assert problems and any(where in p for p in problems), problems
