"""The curated model catalog (data/catalog/models.json) against its schema and its own rules.

The schema checks shape; these tests check what a schema cannot: every figure has a source, no
alias names two models, the parameter counts agree with the architecture, and the names people
actually type (Ollama tags, Hugging Face repos) land on the right entry.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from evaluator.catalog import Catalog, normalise_model_name, parse_model

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "data" / "catalog" / "models.json"
SCHEMA = ROOT / "data" / "catalog" / "schema" / "models.schema.json"

FIGURES = ("params_total_b", "params_active_b", "release_date", "licence", "context_length")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalog() -> dict[str, Any]:
    return _load(CATALOG)


@pytest.fixture(scope="module")
def loaded(catalog: dict[str, Any]) -> Catalog:
    """The models side through the real loader (no accelerators: this file is about models)."""
    return Catalog(accelerators={}, models={e["key"]: parse_model(e) for e in catalog["entries"]})


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = _load(SCHEMA)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, doc: Any) -> list[str]:
    return sorted(
        f"{'/'.join(str(p) for p in err.absolute_path)}: {err.message}"
        for err in validator.iter_errors(doc)
    )


def _resolve(catalog: dict[str, Any], name: str) -> list[tuple[str, dict[str, Any]]]:
    """Entries (key, alias) an alias names; the loader matches case-insensitively."""
    wanted = name.casefold()
    return [
        (entry["key"], alias)
        for entry in catalog["entries"]
        for alias in entry["aliases"]
        if alias["name"].casefold() == wanted
    ]


def test_catalog_matches_schema(catalog: dict[str, Any], validator: Draft202012Validator) -> None:
    assert _errors(validator, catalog) == []


def _entry(catalog: dict[str, Any], key: str) -> dict[str, Any]:
    return next(e for e in catalog["entries"] if e["key"] == key)


def _set(path: tuple[str | int, ...], value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _drop(path: tuple[str | int, ...]) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


# Each mutation must make the schema fail, at the path given: proves the schema is not vacuous.
BAD = [
    ("unknown field", _set(("entries", 0, "size"), "small"), "entries/0"),
    ("unknown alias field", _set(("entries", 0, "aliases", 0, "tag"), "x"), "entries/0/aliases/0"),
    (
        "alias kind",
        _set(("entries", 0, "aliases", 0, "kind"), "docker"),
        "entries/0/aliases/0/kind",
    ),
    (
        "quantization",
        _set(("entries", 0, "aliases", 2, "quantization"), "q4km"),
        "entries/0/aliases/2/quantization",
    ),
    ("month 13", _set(("entries", 0, "release_date"), "2024-13-01"), "entries/0/release_date"),
    ("free-text date", _set(("entries", 0, "release_date"), "July 2024"), "entries/0/release_date"),
    ("architecture", _set(("entries", 0, "architecture"), "hybrid"), "entries/0/architecture"),
    ("negative params", _set(("entries", 0, "params_total_b"), -1), "entries/0/params_total_b"),
    ("float context", _set(("entries", 0, "context_length"), 8192.5), "entries/0/context_length"),
    (
        "http source",
        _set(("entries", 0, "sources", "licence"), "http://example.com"),
        "entries/0/sources/licence",
    ),
    (
        "unknown source",
        _set(("entries", 0, "sources", "speed"), "https://example.com"),
        "entries/0/sources",
    ),
    ("key case", _set(("entries", 0, "key"), "Llama-3"), "entries/0/key"),
    ("missing notes", _drop(("entries", 0, "notes")), "entries/0"),
    ("no aliases", _set(("entries", 0, "aliases"), []), "entries/0/aliases"),
    (
        "alias with space",
        _set(("entries", 0, "aliases", 0, "name"), "llama 3"),
        "entries/0/aliases/0/name",
    ),
    ("catalog name", _set(("catalog",), "accelerators"), "catalog"),
    ("schema version", _set(("schema_version",), 2), "schema_version"),
]


@pytest.mark.parametrize(("why", "mutate", "path"), BAD, ids=[b[0] for b in BAD])
def test_schema_rejects(
    catalog: dict[str, Any], validator: Draft202012Validator, why: str, mutate: Any, path: str
) -> None:
    doc = copy.deepcopy(catalog)
    mutate(doc)
    errors = _errors(validator, doc)
    assert errors, f"schema accepted a bad catalog ({why})"
    assert any(e.split(":")[0] == path for e in errors), errors


def test_every_figure_has_a_source(catalog: dict[str, Any]) -> None:
    missing = [
        f"{e['key']}.{f}"
        for e in catalog["entries"]
        for f in FIGURES
        if e[f] is not None and not e["sources"].get(f)
    ]
    assert missing == []


def test_no_source_for_an_unknown_figure(catalog: dict[str, Any]) -> None:
    # A source next to a null figure means the figure was dropped and the source forgotten.
    stray = [f"{e['key']}.{f}" for e in catalog["entries"] for f in e["sources"] if e[f] is None]
    assert stray == []


def test_keys_unique(catalog: dict[str, Any]) -> None:
    keys = [e["key"] for e in catalog["entries"]]
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []


def test_aliases_resolve_to_one_entry(catalog: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    clashes = []
    for entry in catalog["entries"]:
        for alias in entry["aliases"]:
            norm = alias["name"].casefold()
            if norm in seen:
                clashes.append(f"{alias['name']}: {seen[norm]} and {entry['key']}")
            seen[norm] = entry["key"]
    assert clashes == []


def test_names_and_aliases_do_not_cross(catalog: dict[str, Any]) -> None:
    # The loader indexes display names too (first one wins), so a name equal to another entry's
    # alias would silently resolve to whichever entry comes first.
    owner: dict[str, set[str]] = {}
    for e in catalog["entries"]:
        for name in (e["name"], *(a["name"] for a in e["aliases"])):
            owner.setdefault(normalise_model_name(name), set()).add(e["key"])
    assert sorted(f"{n}: {sorted(k)}" for n, k in owner.items() if len(k) > 1) == []


def test_parameter_counts_agree_with_architecture(catalog: dict[str, Any]) -> None:
    bad = []
    for e in catalog["entries"]:
        total, active = e["params_total_b"], e["params_active_b"]
        if total is None or active is None:
            continue
        if active > total:
            bad.append(f"{e['key']}: active {active} > total {total}")
        if e["architecture"] == "dense" and active != total:
            bad.append(f"{e['key']}: dense but active {active} != total {total}")
        if e["architecture"] == "moe" and not active < total:
            bad.append(f"{e['key']}: moe but active {active} is not below total {total}")
    assert bad == []


def test_moe_entries_publish_active_params(catalog: dict[str, Any]) -> None:
    missing = [
        e["key"]
        for e in catalog["entries"]
        if e["architecture"] == "moe" and e["params_active_b"] is None
    ]
    assert missing == []


def test_alias_names_fit_their_kind(catalog: dict[str, Any]) -> None:
    bad = []
    for e in catalog["entries"]:
        for a in e["aliases"]:
            name, kind, quant = a["name"], a["kind"], a.get("quantization")
            if kind in ("hf", "gguf", "mlx") and (name.count("/") != 1 or ":" in name):
                bad.append(f"{name}: a {kind} alias is an owner/repo id")
            if kind == "ollama" and (":" not in name or "/" in name):
                bad.append(f"{name}: an ollama alias is a library name:tag")
            if kind == "gguf" and quant is not None:
                bad.append(f"{name}: a GGUF repo holds many files; the file picks the quantization")
            if kind == "gguf" and "gguf" not in name.casefold():
                bad.append(f"{name}: not a GGUF repo name")
            if kind == "mlx" and quant is None:
                bad.append(f"{name}: an MLX repo is one bit width; say which")
            if kind == "hf" and quant is not None:
                bad.append(f"{name}: hf aliases are the published weights, no quantization")
    assert bad == []


def test_ollama_tag_quantization_matches_explicit_tags(catalog: dict[str, Any]) -> None:
    # An explicit tag such as llama3.1:8b-instruct-q8_0 must carry the quantization it names.
    suffixes = {"q4_0": "Q4_0", "q4_k_m": "Q4_K_M", "q8_0": "Q8_0", "fp16": "F16"}
    bad = []
    for e in catalog["entries"]:
        for a in e["aliases"]:
            if a["kind"] != "ollama":
                continue
            tail = a["name"].rsplit("-", 1)[-1].casefold()
            if tail in suffixes and a.get("quantization") != suffixes[tail]:
                bad.append(f"{a['name']}: {a.get('quantization')}")
    assert bad == []


COVERAGE = [
    # (alias as a user or harness writes it, entry key, quantization the alias implies)
    ("llama3.2:1b", "llama-3.2-1b-instruct", "Q8_0"),
    ("meta-llama/Llama-3.2-1B-Instruct", "llama-3.2-1b-instruct", None),
    ("META-LLAMA/llama-3.2-1b-instruct", "llama-3.2-1b-instruct", None),
    ("mlx-community/Llama-3.2-1B-Instruct-4bit", "llama-3.2-1b-instruct", "4bit"),
    ("bartowski/Llama-3.2-1B-Instruct-GGUF", "llama-3.2-1b-instruct", None),
    ("meta-llama/Llama-3.2-1B", "llama-3.2-1b", None),
    ("llama3.2:3b", "llama-3.2-3b-instruct", "Q4_K_M"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct", None),
    ("llama3.1:70b", "llama-3.1-70b-instruct", "Q4_K_M"),
    ("llama3.1:405b", "llama-3.1-405b-instruct", "Q4_K_M"),
    ("llama3.3:70b", "llama-3.3-70b-instruct", "Q4_K_M"),
    ("qwen2.5:0.5b", "qwen2.5-0.5b-instruct", "Q4_K_M"),
    ("Qwen/Qwen2.5-72B-Instruct", "qwen2.5-72b-instruct", None),
    ("qwen2.5-coder:32b", "qwen2.5-coder-32b-instruct", "Q4_K_M"),
    ("qwen3:4b", "qwen3-4b", "Q4_K_M"),
    ("Qwen/Qwen3-4B", "qwen3-4b", None),
    ("Qwen/Qwen3-4B-Base", "qwen3-4b-base", None),
    ("Qwen/Qwen3-30B-A3B", "qwen3-30b-a3b", None),
    ("Qwen/Qwen3-235B-A22B", "qwen3-235b-a22b", None),
    ("gemma2:9b", "gemma-2-9b-it", None),
    ("gemma3:4b", "gemma-3-4b-it", "Q4_K_M"),
    ("google/gemma-3-27b-it", "gemma-3-27b-it", None),
    ("phi3:mini", "phi-3-mini-4k-instruct", None),
    ("microsoft/Phi-3-small-8k-instruct", "phi-3-small-8k-instruct", None),
    ("phi3:medium", "phi-3-medium-4k-instruct", None),
    ("phi3.5:3.8b", "phi-3.5-mini-instruct", None),
    ("phi4:14b", "phi-4", "Q4_K_M"),
    ("phi4-mini:3.8b", "phi-4-mini-instruct", "Q4_K_M"),
    ("mistral:7b", "mistral-7b-instruct-v0.3", None),
    ("mistral-small3.1:24b", "mistral-small-3.1-24b-instruct-2503", None),
    ("mistral-nemo:12b", "mistral-nemo-instruct-2407", None),
    ("mistralai/Ministral-8B-Instruct-2410", "ministral-8b-instruct-2410", None),
    ("mistralai/Ministral-3-3B-Instruct-2512", "ministral-3-3b-instruct-2512", None),
    ("gpt-oss:20b", "gpt-oss-20b", "MXFP4"),
    ("openai/gpt-oss-120b", "gpt-oss-120b", None),
    ("granite3.3:8b", "granite-3.3-8b-instruct", "Q4_K_M"),
    ("ibm-granite/granite-3.1-2b-instruct", "granite-3.1-2b-instruct", None),
    ("granite4:micro", "granite-4.0-micro", None),
    ("granite4:micro-h", "granite-4.0-h-micro", None),
    ("granite4:tiny-h", "granite-4.0-h-tiny", "Q4_K_M"),
    ("granite4:small-h", "granite-4.0-h-small", None),
    ("deepseek-r1:1.5b", "deepseek-r1-distill-qwen-1.5b", "Q4_K_M"),
    ("deepseek-r1:7b", "deepseek-r1-distill-qwen-7b", "Q4_K_M"),
    ("deepseek-r1:14b", "deepseek-r1-distill-qwen-14b", "Q4_K_M"),
    ("deepseek-r1:32b", "deepseek-r1-distill-qwen-32b", "Q4_K_M"),
    ("deepseek-r1:70b", "deepseek-r1-distill-llama-70b", "Q4_K_M"),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek-r1-distill-llama-8b", None),
    ("deepseek-r1:8b-llama-distill-q4_K_M", "deepseek-r1-distill-llama-8b", "Q4_K_M"),
    ("deepseek-r1:8b", "deepseek-r1-0528-qwen3-8b", "Q4_K_M"),
    ("smollm2:135m", "smollm2-135m-instruct", None),
    ("smollm2:360m", "smollm2-360m-instruct", None),
    ("smollm2:1.7b", "smollm2-1.7b-instruct", None),
    ("HuggingFaceTB/SmolLM3-3B", "smollm3-3b", None),
]


@pytest.mark.parametrize(("name", "key", "quantization"), COVERAGE, ids=[c[0] for c in COVERAGE])
def test_common_names_resolve(
    catalog: dict[str, Any], loaded: Catalog, name: str, key: str, quantization: str | None
) -> None:
    assert [k for k, _ in _resolve(catalog, name)] == [key]
    match = loaded.resolve_model(name)
    assert match.entry is not None and match.entry.key == key
    assert match.quantization == quantization


@pytest.mark.parametrize(
    "name",
    # Short tags that have pointed at different models over time: resolving them would put a
    # result under the wrong model, so the catalog must not claim them.
    ["qwen3:30b", "qwen3:235b", "mistral-small:latest", "deepseek-r1:8b-qwen-distill"],
)
def test_ambiguous_tags_are_not_claimed(loaded: Catalog, name: str) -> None:
    assert loaded.resolve_model(name).entry is None


def test_resolution_is_not_fuzzy(loaded: Catalog) -> None:
    # Prefixes and near misses must not match: a typo is an unknown model, not a guess.
    for name in ("llama3.2:1", "qwen3:4", "meta-llama/Llama-3.2-1B-Instruct-", "llama3.2:lat"):
        assert loaded.resolve_model(name).entry is None, name


def test_a_bare_ollama_name_is_its_latest_tag(loaded: Catalog) -> None:
    # Ollama itself reads "llama3.2" as "llama3.2:latest"; a name without a tag that has no
    # ":latest" alias stays unknown.
    latest = loaded.resolve_model("llama3.2:latest").entry
    assert latest is not None and loaded.resolve_model("llama3.2").entry == latest
    assert loaded.resolve_model("qwen3-but-not-a-model").entry is None


def test_display_names_resolve(loaded: Catalog, catalog: dict[str, Any]) -> None:
    wrong = [
        e["key"]
        for e in catalog["entries"]
        if (m := loaded.resolve_model(e["name"])).entry is None or m.entry.key != e["key"]
    ]
    assert wrong == []


def test_reasoning_flags(catalog: dict[str, Any]) -> None:
    reasoning = {e["key"] for e in catalog["entries"] if e["reasoning"]}
    expected = {
        "qwen3-0.6b", "qwen3-1.7b", "qwen3-4b", "qwen3-8b", "qwen3-14b", "qwen3-32b",
        "qwen3-30b-a3b", "qwen3-235b-a22b", "qwen3-4b-thinking-2507",
        "qwen3-30b-a3b-thinking-2507", "gpt-oss-20b", "gpt-oss-120b", "phi-4-reasoning",
        "deepseek-r1-distill-qwen-1.5b", "deepseek-r1-distill-qwen-7b",
        "deepseek-r1-distill-qwen-14b", "deepseek-r1-distill-qwen-32b",
        "deepseek-r1-distill-llama-8b", "deepseek-r1-distill-llama-70b",
        "deepseek-r1-0528-qwen3-8b", "ministral-3-3b-reasoning-2512",
        "ministral-3-8b-reasoning-2512", "smollm3-3b",
    }  # fmt: skip
    assert reasoning == expected


def test_moe_figures_from_the_cards(catalog: dict[str, Any]) -> None:
    # The active-parameter figures are the point of listing MoE models; pin the published ones.
    figures = {
        key: (_entry(catalog, key)["params_total_b"], _entry(catalog, key)["params_active_b"])
        for key in ("gpt-oss-20b", "gpt-oss-120b", "qwen3-30b-a3b", "qwen3-235b-a22b",
                    "granite-4.0-h-small", "granite-4.0-h-tiny")
    }  # fmt: skip
    assert figures == {
        "gpt-oss-20b": (21, 3.6),
        "gpt-oss-120b": (117, 5.1),
        "qwen3-30b-a3b": (30.5, 3.3),
        "qwen3-235b-a22b": (235, 22),
        "granite-4.0-h-small": (32, 9),
        "granite-4.0-h-tiny": (7, 1),
    }
