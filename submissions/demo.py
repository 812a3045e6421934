"""Synthetic demo runs: what a harness would write for fictional (model, hardware) pairs.

Pure Python (no Django) so the seed command, the tests and the benchmarks share it. Everything here
is SIMULATED and says so: model and hardware names are fictional ("demo/..."), manifests carry
``"synthetic": true`` and the board labels such rows. The runs are still packed, signed, uploaded
and evaluated by the real pipeline: the demo shows the product, not invented measurements.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from evaluator.manifest import FORMAT_VERSION
from evaluator.types import Dataset, DatasetItem

SAMPLING_PERIOD_S = 0.05


@dataclass(frozen=True)
class DemoModel:
    id: str
    family: str
    params_total_b: float
    params_active_b: float
    skill: float  # probability of a correct answer on an average item
    tokens_per_s_scale: float  # relative decode speed (smaller models decode faster)
    release: str  # ISO date, for the catalog
    # A "thinking" model: part of its output tokens are hidden reasoning, which its runs report
    # (reasoning_tokens); the others report 0. Illustrates the reasoning chart, nothing more.
    thinking: bool = False


@dataclass(frozen=True)
class DemoHardware:
    label: str
    accelerator: str
    vendor: str
    hw_class: str  # local | cloud
    scope: str  # accelerator | soc | wall
    method: str
    idle_w: float
    load_w: float  # extra power at full load
    speed: float  # relative throughput
    memory_gb: float
    tdp_w: float
    release: str


MODELS: tuple[DemoModel, ...] = (
    DemoModel("demo/sparrow-1b", "sparrow", 1.0, 1.0, 0.38, 2.6, "2023-05-01"),
    DemoModel("demo/sparrow-3b", "sparrow", 3.0, 3.0, 0.52, 1.8, "2024-02-01"),
    DemoModel("demo/heron-8b", "heron", 8.0, 8.0, 0.66, 1.0, "2024-09-01"),
    DemoModel("demo/heron-moe-30b-a3b", "heron", 30.0, 3.0, 0.74, 1.6, "2025-04-01", True),
    DemoModel("demo/condor-70b", "condor", 70.0, 70.0, 0.82, 0.35, "2025-02-01"),
)
HARDWARE: tuple[DemoHardware, ...] = (
    DemoHardware(
        "Demo Laptop SoC",
        "Demo NPU-M",
        "DemoSilicon",
        "local",
        "soc",
        "powermetrics",
        4.0,
        26.0,
        0.5,
        32.0,
        40.0,
        "2024-11-01",
    ),
    DemoHardware(
        "Demo Workstation GPU",
        "Demo RX-48",
        "DemoGraphics",
        "local",
        "accelerator",
        "nvml_counter",
        22.0,
        260.0,
        1.4,
        48.0,
        300.0,
        "2023-10-01",
    ),
    DemoHardware(
        "Demo Datacenter GPU",
        "Demo DC-80",
        "DemoGraphics",
        "cloud",
        "accelerator",
        "nvml_counter",
        70.0,
        520.0,
        3.2,
        80.0,
        700.0,
        "2024-03-01",
    ),
)
# The catalog's device class of each demo machine (what the routing analysis calls local).
DEVICE_CLASSES: dict[str, str] = {
    "Demo Laptop SoC": "laptop",
    "Demo Workstation GPU": "workstation",
    "Demo Datacenter GPU": "datacenter",
}
# (model, hardware, run date, quantization, engine): a plausible spread for charts and trends.
PAIRS: tuple[tuple[str, str, str, str, str], ...] = (
    ("demo/sparrow-1b", "Demo Laptop SoC", "2025-01-15", "q4_k_m", "demo-engine"),
    ("demo/sparrow-3b", "Demo Laptop SoC", "2025-03-10", "q4_k_m", "demo-engine"),
    ("demo/heron-moe-30b-a3b", "Demo Laptop SoC", "2025-09-20", "q4_k_m", "demo-engine"),
    ("demo/heron-8b", "Demo Workstation GPU", "2024-12-02", "fp16", "demo-engine"),
    ("demo/heron-moe-30b-a3b", "Demo Workstation GPU", "2025-06-18", "fp8", "demo-engine"),
    ("demo/sparrow-3b", "Demo Datacenter GPU", "2024-06-05", "bf16", "demo-engine"),
    ("demo/heron-8b", "Demo Datacenter GPU", "2025-02-11", "bf16", "demo-engine"),
    ("demo/condor-70b", "Demo Datacenter GPU", "2025-08-30", "fp8", "demo-engine"),
)

# Synthetic runs on the reference harness's workload (ipw-mixed): the demo never packs real harness
# output, whose run id and member files would then be spent (a newcomer submitting the harness's
# sample run would be refused as a replay).
MIXED_PAIRS: tuple[tuple[str, str, str, str, str], ...] = (
    ("demo/sparrow-3b", "Demo Workstation GPU", "2025-04-22", "q4_k_m", "demo-engine"),
    ("demo/heron-8b", "Demo Datacenter GPU", "2025-05-12", "bf16", "demo-engine"),
)


# One synthetic agentic run (tasks of several turns and tool calls): the agentic track's demo.
AGENTIC_PAIRS: tuple[tuple[str, str, str, str, str], ...] = (
    ("demo/heron-8b", "Demo Workstation GPU", "2025-10-07", "fp8", "demo-engine"),
)


def demo_runs(
    demo_dataset: Dataset, mixed_dataset: Dataset
) -> Iterator[tuple[str, dict[str, Any], pa.Table, pa.Table]]:
    """Every demo run the seed command submits: (file name, manifest, queries, trace)."""
    # (name prefix, pairs, dataset, first seed, agentic): one loop, each run's seed as before.
    groups = (
        ("demo", PAIRS, demo_dataset, 1000, False),
        ("demo-mixed", MIXED_PAIRS, mixed_dataset, 2000, False),
        ("demo-agentic", AGENTIC_PAIRS, demo_dataset, 3000, True),
    )
    for prefix, pairs, dataset, first_seed, agentic in groups:
        for index, (model_id, hw_label, run_date, quant, engine) in enumerate(pairs):
            manifest, queries, trace = synth_run(
                dataset,
                find_model(model_id),
                find_hardware(hw_label),
                run_date=run_date,
                quantization=quant,
                engine=engine,
                seed=first_seed + index,
                # The largest model claims more than it scores: shows the claim-gap flag.
                claimed_accuracy=0.95 if model_id == "demo/condor-70b" and not agentic else None,
                agentic=agentic,
            )
            yield f"{prefix}-{index:02d}.ipwb", manifest, queries, trace


def _wrong_number(reference: str, rng: np.random.Generator) -> str:
    try:
        value = float(reference.replace(",", ""))
    except ValueError:
        return "42"
    wrong = value + rng.choice([-3, -2, -1, 1, 2, 5]) * max(1.0, abs(value) * 0.1)
    return f"{wrong:g}"


def synth_response(item: DatasetItem, correct: bool, rng: np.random.Generator) -> str:
    """A verbose, model-like response that is right or wrong on purpose."""
    reference = item.reference or ""
    if item.method == "letter_match":
        letters = sorted(item.params.get("options") or {"A": "", "B": "", "C": "", "D": ""})
        letter = reference if correct else str(rng.choice([x for x in letters if x != reference]))
        openers = ("Let me think about each option.", "Considering the choices carefully,", "")
        return f"{rng.choice(openers)} The answer is ({letter})."
    if item.method == "numeric_match":
        answer = reference if correct else _wrong_number(reference, rng)
        return (
            f"Working through it step by step, we get the result.\n\nThe final answer is {answer}."
        )
    if item.method == "exact_match":
        return reference if correct else "I am not certain; possibly something else."
    # Open-ended: the reference's content in other words when "correct" (a model does not write
    # the reference word for word; a response that does is flagged, evaluator.checks.references),
    # a vague reply otherwise.
    if correct:
        return _in_other_words(reference)
    return "That is a broad question; it depends on many factors."


def _in_other_words(reference: str) -> str:
    words = reference.split()
    cut = max(1, len(words) // 2)
    return f"In short: {' '.join(words[:cut])}, that is, {' '.join(words[cut:])}".rstrip(", ")


def synth_run(
    dataset: Dataset,
    model: DemoModel,
    hardware: DemoHardware,
    *,
    run_date: str,
    quantization: str = "bf16",
    engine: str = "demo-engine",
    seed: int = 0,
    claimed_accuracy: float | None = None,
    challenge: str | None = None,
    agentic: bool = False,
) -> tuple[dict[str, Any], pa.Table, pa.Table]:
    """Manifest, queries table and a consistent power trace for one simulated run.

    Like a current reference-harness run it reports per-phase energy and duration (prefill up to
    the first token, decode after it) and reasoning tokens; an ``agentic`` run's rows are tasks of
    several model turns and tool calls, the tools' time spent at idle power."""
    rng = np.random.default_rng(seed)
    # Agentic draws come from their own stream, so single-turn runs stay exactly as they were.
    task_rng = np.random.default_rng(seed + 7919)
    start = datetime.fromisoformat(run_date).replace(tzinfo=UTC, hour=9)
    t0 = start.timestamp()
    rows: dict[str, list[Any]] = {
        name: []
        for name in (
            "query_id",
            "response",
            "input_tokens",
            "output_tokens",
            "ttft_s",
            "latency_s",
            "started_at",
            "ended_at",
            "reasoning_tokens",
            "prefill_s",
            "decode_s",
            "turns",
            "tool_calls",
            "tool_s",
        )
    }
    clock = t0 + 1.0  # the trace starts a second before the first query
    loads: list[tuple[float, float, float]] = []  # (start, end, load fraction)
    for item in dataset.items:
        correct = bool(rng.random() < model.skill)
        response = synth_response(item, correct, rng)
        input_tokens = max(8, len(item.prompt) // 4)
        output_tokens = max(4, len(response) // 4 + int(rng.integers(0, 24)))
        speed = 45.0 * model.tokens_per_s_scale * hardware.speed  # tokens per second
        ttft = 0.04 + input_tokens / (speed * 40) + float(rng.exponential(0.02))
        latency = ttft + output_tokens / speed
        load = min(1.0, 0.45 + 0.5 * np.sqrt(model.params_active_b / 70.0)) * rng.uniform(0.9, 1.0)
        # The tokens beyond the visible answer are the thinking model's hidden reasoning.
        rows["reasoning_tokens"].append(output_tokens - len(response) // 4 if model.thinking else 0)
        rows["prefill_s"].append(ttft)
        rows["decode_s"].append(latency - ttft)
        turns, tool_calls, tool_s = 1, 0, 0.0
        if agentic:
            tool_calls = int(task_rng.integers(1, 5))
            turns = tool_calls + 1
            tool_s = float(task_rng.exponential(0.4, size=tool_calls).sum())
        rows["turns"].append(turns)
        rows["tool_calls"].append(tool_calls)
        rows["tool_s"].append(tool_s)
        rows["query_id"].append(item.id)
        rows["response"].append(response)
        rows["input_tokens"].append(input_tokens)
        rows["output_tokens"].append(output_tokens)
        rows["ttft_s"].append(ttft)
        # A task's latency includes its tool calls, spent at idle power after the model's turns.
        rows["latency_s"].append(latency + tool_s)
        rows["started_at"].append(clock)
        rows["ended_at"].append(clock + latency + tool_s)
        loads.append((clock, clock + latency, float(load)))
        clock += latency + tool_s + SAMPLING_PERIOD_S * 2
    end = clock + 1.0

    # Power sampled every period; cumulative energy integrates it, and each query's energy is the
    # counter delta over its own interval, exactly as a counter-based meter attributes it.
    times = np.arange(t0, end, SAMPLING_PERIOD_S)
    power = np.full(times.shape, hardware.idle_w)
    for q_start, q_end, load in loads:
        mask = (times >= q_start) & (times < q_end)
        power[mask] = hardware.idle_w + hardware.load_w * load
    power = power * rng.normal(1.0, 0.02, size=power.shape)
    energy = np.concatenate([[0.0], np.cumsum(power[:-1] * SAMPLING_PERIOD_S)]) + 1000.0
    per_query, prefill = [], []
    for (q_start, _, _), ttft_s, latency_s in zip(
        loads, rows["ttft_s"], rows["latency_s"], strict=True
    ):
        e0, e_first, e1 = np.interp([q_start, q_start + ttft_s, q_start + latency_s], times, energy)
        per_query.append(float(e1 - e0))
        prefill.append(float(e_first - e0))
    rows["prefill_energy_j"] = prefill
    rows["decode_energy_j"] = [e - p for e, p in zip(per_query, prefill, strict=True)]
    if not agentic:  # single-turn rows carry no agentic columns
        for name in ("turns", "tool_calls", "tool_s"):
            del rows[name]
    queries = pa.table(
        {
            **rows,
            "energy_j": per_query,
            "power_avg_w": [
                e / latency for e, latency in zip(per_query, rows["latency_s"], strict=True)
            ],
        }
    )
    trace = pa.table(
        {
            "timestamp_ns": (times * 1e9).astype("int64"),
            "power_w": power,
            "energy_j": energy,
        }
    )
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "run_id": str(uuid.UUID(bytes=rng.bytes(16), version=4)),
        "created_at": datetime.fromtimestamp(end, UTC).isoformat().replace("+00:00", "Z"),
        "synthetic": True,
        "harness": {"name": "ipwboard-demo", "version": "1"},
        "model": {
            "id": model.id,
            "revision": "demo",
            "quantization": quantization,
            "engine": engine,
            "engine_version": "1.0",
            "family": model.family,
            "params_total_b": model.params_total_b,
            "params_active_b": model.params_active_b,
        },
        "hardware": {
            "label": hardware.label,
            "accelerator": hardware.accelerator,
            "vendor": hardware.vendor,
            "count": 1,
            "class": hardware.hw_class,
            "memory_gb": hardware.memory_gb,
            "tdp_w": hardware.tdp_w,
        },
        "system": {"os": "Simulated OS", "note": "synthetic demo run, not a real machine"},
        "dataset": {"slug": dataset.slug, "version": dataset.version, "sha256": dataset.sha256},
        "measurement": {
            "scope": hardware.scope,
            "method": hardware.method,
            "sampling_period_s": SAMPLING_PERIOD_S,
        },
        "window": {
            "start": datetime.fromtimestamp(t0, UTC).isoformat().replace("+00:00", "Z"),
            "end": datetime.fromtimestamp(end, UTC).isoformat().replace("+00:00", "Z"),
        },
        "challenge": challenge,
        "claimed": {} if claimed_accuracy is None else {"accuracy": claimed_accuracy},
        "notes": "Synthetic demo data generated by ipwboard's seed command.",
    }
    if agentic:
        manifest["workload"] = {"kind": "agentic", "agent": "demo-agent"}
    return manifest, queries, trace


def find_model(model_id: str) -> DemoModel:
    return next(m for m in MODELS if m.id == model_id)


def find_hardware(label: str) -> DemoHardware:
    return next(h for h in HARDWARE if h.label == label)
