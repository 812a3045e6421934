"""Signed bundles for the fault tests, built without a database.

``dense_bundle`` makes an honest run whose power trace is sampled ``factor`` times more often than
the demo's, so validating it takes seconds instead of milliseconds: long enough to kill a worker
in the middle of it, or to run past a short soft time limit, with no test-only hook in the code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.datasets import load_dataset
from evaluator.types import Dataset

ROOT = Path(__file__).resolve().parents[2]
DEMO_JSONL = ROOT / "data" / "datasets" / "ipwboard-demo" / "1.jsonl"


def demo_dataset() -> Dataset:
    return load_dataset(DEMO_JSONL)


def build_bundle(
    path: Path,
    private_key: Any,
    *,
    dataset: Dataset | None = None,
    seed: int = 0,
    model: str = "demo/heron-8b",
    hardware: str = "Demo Workstation GPU",
    factor: int = 1,
    response_chars: int = 0,
    pad: str = "x",
) -> Path:
    """A signed synthetic bundle; ``factor`` > 1 resamples the trace that much more densely;
    ``response_chars`` pads every response to that length with ``pad`` (a bundle that needs
    memory: responses are the one thing the worker must hold, as text, while scoring; a 4-byte
    ``pad`` makes a response four times larger in bytes within the same character limit)."""
    from submissions import demo  # no Django models touched: synth_run is pure

    dataset = dataset or demo_dataset()
    manifest, queries, trace = demo.synth_run(
        dataset,
        demo.find_model(model),
        demo.find_hardware(hardware),
        run_date="2025-06-01",
        seed=seed,
    )
    if factor > 1:
        trace = _densify(trace, factor)
        period = float(manifest["measurement"]["sampling_period_s"]) / factor
        manifest["measurement"]["sampling_period_s"] = period
    if response_chars:
        padded = [
            text + " " + pad * max(0, response_chars - len(text) - 1)
            for text in queries.column("response").to_pylist()
        ]
        index = queries.schema.get_field_index("response")
        queries = queries.set_column(index, "response", pa.array(padded, pa.string()))
    pack_bundle(path, manifest, queries, trace)
    sign_bundle(path, private_key)
    return path


def _densify(trace: pa.Table, factor: int) -> pa.Table:
    stamps = trace.column("timestamp_ns").to_numpy().astype(np.float64)
    power = trace.column("power_w").to_numpy()
    energy = trace.column("energy_j").to_numpy()
    step = (stamps[1] - stamps[0]) / factor
    dense = np.arange(stamps[0], stamps[-1], step)
    return pa.table(
        {
            "timestamp_ns": dense.astype("int64"),
            "power_w": np.interp(dense, stamps, power),
            "energy_j": np.interp(dense, stamps, energy),
        }
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
