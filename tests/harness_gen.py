"""Generate run directories of today's reference harness from its documented schema.

No run of the current harness (HazyResearch/intelligence-per-watt) can be made here, so these
writers build one from the documented record layout (docs/user-guide/export-formats.md,
docs/telemetry/metrics-reference.md, docs/benchmarking/platform-support.md) and its code
(``execution/types.py``, ``execution/runner.py``, ``execution/trace.py``, ``execution/exporters.py``,
``analysis/accuracy.py``); docs/harness-formats.md says which field came from where. The query
texts, answers, latencies, tokens and power come from the real 11ba0dc run in tests/fixtures, so
the generated runs pass the same physics; only the layout and attribution are new. Deterministic:
the same arguments give the same bytes.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from tests.conftest import HARNESS_RUN

MODEL = "llama3.2:1b"
H100 = "NVIDIA H100 80GB HBM3"
START = 1_795_230_000.0  # the runs' recorded start (epoch seconds), close to the fixture's
CPU_W = 35.0  # host package power while serving (RAPL), a typical dual-socket idle-plus-load
IDLE_GAP_FACTOR = 0.95  # in-window energy is below the chained delta (no idle gap charged)
# The harness grades with its own scorers and judge; the board re-scores. 0.8 is just under what
# the board's scorers give this fixture's answers (0.81 of the scored items), so an honest claim.
HARNESS_ACCURACY = 0.8


def fixture_rows() -> list[dict[str, Any]]:
    path = HARNESS_RUN / "data-00000-of-00001.arrow"
    with pa.memory_map(str(path)) as source:
        return ipc.open_stream(source).read_all().to_pylist()


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _stats(values: Iterable[float]) -> dict[str, float]:
    data = list(values)
    return {
        "avg": sum(data) / len(data),
        "max": max(data),
        "median": statistics.median(data),
        "min": min(data),
    }


def _write_arrow(run: Path, rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(rows)
    with ipc.new_stream(str(run / "data-00000-of-00001.arrow"), table.schema) as writer:
        writer.write_table(table)
    (run / "dataset_info.json").write_text(json.dumps({"features": {}}))
    (run / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]})
    )


def _metrics(
    old: dict[str, Any],
    *,
    apple: bool,
    energy_none: bool,
    reasoning: bool,
    index: int,
    correct: bool,
    scale: float,
) -> dict[str, Any]:
    latency = old["latency_metrics"]["total_query_seconds"]
    ttft = old["latency_metrics"]["time_to_first_token_seconds"] or 0.0
    watts = old["power_metrics"]["gpu"]["per_query_watts"]
    scale *= 0.08 if apple else 1.0  # an M-series GPU rail draws tens of watts, not hundreds
    gpu_w = watts["avg"] * scale
    gpu = gpu_w * latency * IDLE_GAP_FACTOR
    cpu = (4.0 if apple else CPU_W) * latency
    ane = 0.5 * latency if apple else None
    soc = gpu + cpu + (ane or 0.0) if apple else None
    prefill = gpu_w * ttft * 0.9
    tokens = dict(old["token_metrics"])
    if reasoning:
        tokens["reasoning"] = tokens["output"] // 3
    return {
        "compute_metrics": {
            "flops_per_request": 2.0 * 1.24e9 * tokens["total"],
            "macs_per_request": None,
            "total_flops": int(2 * 1.24e9 * tokens["total"]),
            "flops_per_token": 2.0 * 1.24e9,
        },
        "energy_metrics": {
            "per_query_joules": None if energy_none else gpu,
            "total_joules": None if energy_none else gpu,
            "cpu_per_query_joules": cpu,
            "cpu_total_joules": cpu,
            "ane_per_query_joules": ane,
            "ane_total_joules": ane,
            "soc_per_query_joules": soc,
            "basis": "soc" if apple else "gpu",
        },
        "latency_metrics": dict(old["latency_metrics"]),
        "memory_metrics": old["memory_metrics"],
        "power_metrics": {
            "gpu": {
                "per_query_watts": {k: v * scale for k, v in watts.items()},
                "total_watts": {k: v * scale for k, v in watts.items()},
            },
            "cpu": {
                "per_query_watts": _stats([cpu / latency] * 3),
                "total_watts": _stats([cpu / latency] * 3),
            },
            **({"soc": {"per_query_watts": _stats([soc / latency] * 3)}} if apple else {}),
        },
        "temperature_metrics": old["temperature_metrics"],
        "token_metrics": tokens,
        "phase_metrics": {
            "prefill_energy_j": prefill,
            "decode_energy_j": max(gpu - prefill, 0.0) * 0.98,
            "prefill_duration_ms": ttft * 1000.0,
            "decode_duration_ms": (latency - ttft) * 1000.0,
            "prefill_power_avg_w": gpu_w,
            "decode_power_avg_w": gpu_w,
        },
        "hardware_utilization": {
            "gpu": {
                "compute_utilization_pct": None if apple else 40.0 + index % 50,
                "memory_bandwidth_utilization_pct": None if apple else 60.0,
                "tensor_core_utilization_pct": None,
                "memory_used_gb": None if apple else 12.5,
                "memory_total_gb": None if apple else 80.0,
            },
            "derived": {"mfu": 0.01 + index % 7 / 1000, "mbu": 0.3, "arithmetic_intensity": 2.0},
        },
        "cost": {
            "input_cost_usd": None,
            "output_cost_usd": None,
            "tool_cost_usd": None,
            "total_cost_usd": None,
        },
        "gpu_info": None
        if apple
        else {
            "name": f"{H100} x1",
            "vendor": "NVIDIA",
            "device_id": 0,
            "device_type": "GPU",
            "backend": "NVML",
        },
        "system_info": old["system_info"],
        "lm_correctness": correct,
        "lm_response": old["lm_response"],
        "evaluation": {"is_correct": correct, "metadata": "{}", "config": {"judge": "none"}},
    }


def write_profile_run(
    out: Path,
    *,
    apple: bool = False,
    energy_none: Iterable[int] = (),
    reasoning: bool = False,
    analyze: bool = True,
    claim_factor: float = 1.0,
    power_scale: float = 1.0,
) -> Path:
    """An ``ipw profile`` run of today's harness (in-window attribution), analysed by default.

    ``apple``: a Mac run (SoC basis, CPU/GPU/ANE rails, no GPU info); ``energy_none``: rows whose
    counter went backwards (the runner writes None); ``claim_factor`` scales the IPW/IPJ that
    ``ipw analyze`` claims (1.0: exactly its own definition on these records); ``power_scale``
    scales the GPU power (another run on the same hardware, not a copy of this one).
    """
    out.mkdir(parents=True)
    missing = set(energy_none)
    rows = []
    source = fixture_rows()
    right = round(HARNESS_ACCURACY * len(source))
    for index, old_row in enumerate(source):
        old = old_row["model_metrics"][MODEL]
        row = {k: v for k, v in old_row.items() if k != "model_metrics"}
        row["model_metrics"] = {
            MODEL: _metrics(
                old,
                apple=apple,
                energy_none=index in missing,
                reasoning=reasoning,
                index=index,
                correct=index < right,
                scale=power_scale,
            )
        }
        rows.append(row)
    _write_arrow(out, rows)
    latencies = [r["model_metrics"][MODEL]["latency_metrics"]["total_query_seconds"] for r in rows]
    system = json.loads((HARNESS_RUN / "summary.json").read_text())["system_info"]
    if apple:
        system = {**system, "os_name": "macOS", "os_version": "15.1", "cpu_brand": "Apple M3 Max"}
    summary = {
        "model": MODEL,
        "profiler_config": {
            "dataset_id": "ipw",
            "client_id": "ollama",
            "client_base_url": "http://localhost:11434",
            "model": MODEL,
            "max_queries": len(rows),
            "output_dir": "/home/someone/runs",
        },
        "dataset": "ipw",
        "dataset_name": "Intelligence Per Watt",
        "hardware_label": "GPU" if apple else "H10080GB",
        "generated_at": START + sum(latencies) + 30.0,
        "start_time": _iso(START),
        "end_time": _iso(START + sum(latencies) + 30.0),
        "total_queries": len(rows),
        "system_info": system,
        "gpu_info": None
        if apple
        else {
            "name": f"{H100} x1",
            "vendor": "NVIDIA",
            "device_id": 0,
            "device_type": "GPU",
            "backend": "NVML",
        },
        "output_dir": "/home/someone/runs/profile",
        "versions": {"ipw": "0.3.0", "python": "3.12.7"},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    if analyze:
        _write_accuracy(out, rows, apple=apple, claim_factor=claim_factor)
    return out


def _write_accuracy(
    run: Path, rows: list[dict[str, Any]], *, apple: bool, claim_factor: float
) -> None:
    """analysis/accuracy.json as ``ipw analyze`` writes it (analysis/accuracy.py)."""
    energy, power, zero = [], [], 0
    correct = sum(1 for row in rows if row["model_metrics"][MODEL]["evaluation"]["is_correct"])
    for row in rows:
        m = row["model_metrics"][MODEL]
        latency = m["latency_metrics"]["total_query_seconds"]
        joules = m["energy_metrics"]["soc_per_query_joules" if apple else "per_query_joules"]
        rail = m["power_metrics"]["soc" if apple else "gpu"]["per_query_watts"]["avg"]
        if joules:
            energy.append(joules)
            power.append(joules / latency)
        elif joules is None:  # not provided: left out of the energy mean, power from the rail
            power.append(rail)
        else:  # zero: imputed from the record's own power
            zero += 1
            energy.append(rail * latency)
            power.append(rail)
    accuracy = correct / len(rows)
    summary = {
        "model": MODEL,
        "correct": correct,
        "incorrect": len(rows) - correct,
        "unevaluated": 0,
        "failed": 0,
        "total_scored": len(rows),
        "accuracy": accuracy,
        "intelligence_per_joule": accuracy / statistics.fmean(energy) * claim_factor,
        "intelligence_per_watt": accuracy / statistics.fmean(power) * claim_factor,
        "avg_per_query_energy_joules": statistics.fmean(energy),
        "avg_per_query_power_watts": statistics.fmean(power),
        "energy_sample_count": len(energy),
        "power_sample_count": len(power),
        "energy_basis": "soc" if apple else "gpu",
    }
    efficiency = {
        "energy": {"count": len(energy), "zero_values": zero, "imputed_count": zero},
        "power": {"count": len(power)},
    }
    report = {
        "analysis": "accuracy",
        "summary": summary,
        "warnings": [],
        "data": {"per_model": {MODEL: summary}, "efficiency": {MODEL: efficiency}},
    }
    (run / "analysis").mkdir()
    (run / "analysis" / "accuracy.json").write_text(json.dumps(report, indent=2))


def write_agentic_run(out: Path, *, agent: str = "react", query_level: bool = True) -> Path:
    """An ``ipw run`` directory: ``traces.jsonl`` (one QueryTrace a line) and ``summary.json``.

    Each task has two or three turns; the middle ones call tools. ``query_level``: the newer
    trace format with the task's energy over its whole window (else only per-turn energy)."""
    out.mkdir(parents=True)
    traces = []
    for index, row in enumerate(fixture_rows()):
        old = row["model_metrics"][MODEL]
        meta = json.loads(row["dataset_metadata"]["dataset_metadata"])
        latency = old["latency_metrics"]["total_query_seconds"]
        watts = old["power_metrics"]["gpu"]["per_query_watts"]["avg"]
        tokens = old["token_metrics"]
        n_turns = 2 + index % 2
        turns = []
        for turn in range(n_turns):
            tools = ["web_search"] if turn < n_turns - 1 else []
            tool_s = {"web_search": 0.2} if tools else {}
            wall = latency / n_turns + sum(tool_s.values())
            turns.append(
                {
                    "turn_index": turn,
                    "input_tokens": tokens["input"] + 40 * turn,
                    "output_tokens": tokens["output"] // n_turns,
                    "tool_result_tokens": 120 if turn else 0,
                    "tools_called": tools,
                    "tool_latencies_s": tool_s,
                    "wall_clock_s": wall,
                    "error": None,
                    "gpu_energy_joules": watts * wall * 0.9,
                    "cpu_energy_joules": CPU_W * wall,
                    "gpu_power_avg_watts": watts * 0.9,
                    "cpu_power_avg_watts": CPU_W,
                    "cost_usd": None,
                }
            )
        wall_total = sum(t["wall_clock_s"] for t in turns) + 0.05
        trace = {
            "query_id": meta["id"],
            "workload_type": "ipw",
            "query_text": row["problem"],
            "response_text": old["lm_response"],
            "turns": turns,
            "total_wall_clock_s": wall_total,
            "completed": True,
            "is_resolved": index < round(HARNESS_ACCURACY * 120),
        }
        if query_level:
            trace["query_gpu_energy_joules"] = watts * wall_total * 0.9
            trace["query_cpu_energy_joules"] = CPU_W * wall_total
            trace["query_gpu_power_avg_watts"] = watts * 0.9
        traces.append(trace)
    (out / "traces.jsonl").write_text("".join(json.dumps(t) + "\n" for t in traces))
    total = sum(t["query_gpu_energy_joules"] for t in traces) if query_level else None
    summary = {
        "generated_at": START + sum(t["total_wall_clock_s"] for t in traces) + 30.0,
        "config": {"agent": agent, "model": MODEL, "dataset": "ipw", "client": "ollama"},
        "hardware": {"gpu_name": H100, "cpu_brand": "Unknown CPU", "platform": "nvidia"},
        "totals": {"queries": len(traces), "accuracy": HARNESS_ACCURACY},
        "efficiency": {
            "accuracy": HARNESS_ACCURACY,
            "total_gpu_energy_joules": total,
            "ipj": HARNESS_ACCURACY / total if total else None,
            "ipw": HARNESS_ACCURACY
            / statistics.fmean(t["turns"][0]["gpu_power_avg_watts"] for t in traces),
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return out
