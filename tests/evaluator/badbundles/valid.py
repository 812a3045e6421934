"""The valid bundle every bad case starts from, built from scratch."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.bundle.tables import QUERY_SCHEMA, TRACE_SCHEMA
from evaluator.keys import fingerprint, public_key_bytes
from evaluator.types import Dataset, DatasetItem

# Deterministic keys: the corpus is reproducible byte for byte.
CORPUS_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ipwb corpus key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ipwb other key").digest())
T0 = 1_760_000_000.0  # window start, epoch seconds
PERIOD = 0.05
MEMBER_ORDER = ("manifest.json", "queries.parquet", "trace.parquet", "signature.dsse.json")


def corpus_trusted_keys() -> dict[str, bytes]:
    raw = public_key_bytes(CORPUS_KEY)
    return {fingerprint(raw): raw}


# ---------------------------------------------------------------- a valid bundle, from scratch


def make_dataset(n: int = 12, slug: str = "corpus-mini", version: str = "1") -> Dataset:
    items = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            options = {"A": f"red {i}", "B": f"green {i}", "C": f"blue {i}", "D": f"gold {i}"}
            prompt = f"Q{i}: which colour?\n" + "\n".join(f"{k}. {v}" for k, v in options.items())
            items.append(
                DatasetItem(
                    f"mc-{i:03d}", prompt, "B", "trivia", "letter_match", {"options": options}
                )
            )
        elif kind == 1:
            items.append(
                DatasetItem(
                    f"num-{i:03d}",
                    f"Q{i}: what is {i} + {i}?",
                    str(2 * i),
                    "math",
                    "numeric_match",
                    {"tolerance": 1e-6},
                )
            )
        else:
            items.append(
                DatasetItem(
                    f"ex-{i:03d}",
                    f"Q{i}: say the word 'apple{i}'.",
                    f"apple{i}",
                    "chat",
                    "exact_match",
                    {},
                )
            )
    digest = hashlib.sha256(json.dumps([item.id for item in items]).encode()).hexdigest()
    return Dataset(slug=slug, version=version, sha256=digest, items=tuple(items))


def answer_for(item: DatasetItem, correct: bool = True) -> str:
    if item.method == "letter_match":
        return "B" if correct else "D"
    if item.method == "numeric_match":
        return f"The answer is {item.reference}." if correct else "The answer is 12345."
    return str(item.reference) if correct else "banana"


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def make_manifest(dataset: Dataset, start: float, end: float, **changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format_version": "1.0",
        "run_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"corpus:{dataset.slug}:{start}")),
        "created_at": _iso(end + 60),
        "synthetic": True,
        "harness": {"name": "corpus", "version": "1.0"},
        "model": {
            "id": "demo/model-1b",
            "revision": "abc123",
            "quantization": "bf16",
            "engine": "vllm",
            "engine_version": "0.6.0",
            "params_total_b": 1.2,
        },
        "hardware": {
            "label": "H100",
            "accelerator": "NVIDIA H100 80GB HBM3",
            "vendor": "NVIDIA",
            "count": 1,
            "class": "local",
            "memory_gb": 80,
            "tdp_w": 700,
        },
        "system": {"os": "Linux", "kernel": "6.8"},
        "dataset": {"slug": dataset.slug, "version": dataset.version, "sha256": dataset.sha256},
        "measurement": {"scope": "accelerator", "method": "simulated", "sampling_period_s": PERIOD},
        "window": {"start": _iso(start), "end": _iso(end)},
        "challenge": None,
        "claimed": {"accuracy": 0.9},
    }
    manifest.update(changes)
    return manifest


def make_trace(start: float, end: float, period: float = PERIOD) -> pa.Table:
    count = round((end - start) / period) + 1
    stamps = np.round((start + np.arange(count) * period) * 1e9).astype(np.int64)
    seconds = (stamps - stamps[0]) / 1e9
    power = 120.0 + 30.0 * np.sin(seconds * 1.7) + 5.0 * np.cos(seconds * 13.0)
    steps = np.diff(seconds) * (power[:-1] + power[1:]) / 2
    energy = 5000.0 + np.concatenate(([0.0], np.cumsum(steps)))
    return pa.table([stamps, power, energy], schema=TRACE_SCHEMA)


def make_queries(
    dataset: Dataset, trace: pa.Table, start: float, rows: int | None = None
) -> pa.Table:
    stamps = trace.column("timestamp_ns").to_numpy() / 1e9
    counter = trace.column("energy_j").to_numpy()
    items = dataset.items[: rows if rows is not None else len(dataset.items)]
    cursor = start + 0.25
    data: dict[str, list[Any]] = {name: [] for name in QUERY_SCHEMA.names}
    for index, item in enumerate(items):
        latency = 0.4 + 0.1 * (index % 5)
        begin, finish = cursor, cursor + latency
        energy = float(np.interp(finish, stamps, counter) - np.interp(begin, stamps, counter))
        response = answer_for(item, correct=index != 1)  # one wrong answer
        row = {
            "query_id": item.id,
            "response": response,
            "input_tokens": 40 + index,
            "output_tokens": max(1, len(response) // 4),
            "ttft_s": 0.1,
            "latency_s": latency,
            "energy_j": energy,
            "power_avg_w": energy / latency,
            "power_max_w": energy / latency * 1.2,
            "power_min_w": energy / latency * 0.8,
            "power_median_w": energy / latency,
            "started_at": begin,
            "ended_at": finish,
        }
        for name, value in row.items():
            data[name].append(value)
        cursor = finish + 0.05
    return pa.table(data, schema=QUERY_SCHEMA)


def run_span(dataset: Dataset) -> float:
    return 0.5 + sum(0.4 + 0.1 * (i % 5) + 0.05 for i in range(len(dataset.items)))


def make_valid_bundle(
    tmpdir: Path,
    dataset: Dataset,
    key: Ed25519PrivateKey = CORPUS_KEY,
    *,
    n: int | None = None,
    with_trace: bool = True,
    name: str = "valid.ipwb",
    **manifest_changes: Any,
) -> Path:
    """Pack and sign a bundle that passes every check (``n`` rows: default all items)."""
    start = T0
    end = start + run_span(dataset)
    trace = make_trace(start, end)
    queries = make_queries(dataset, trace, start, n)
    manifest = make_manifest(dataset, start, end, **manifest_changes)
    out = pack_bundle(Path(tmpdir) / name, manifest, queries, trace if with_trace else None)
    sign_bundle(out, key)
    return out
