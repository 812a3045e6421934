"""An agentic run (``ipw run`` / ``ipw bench``): ``traces.jsonl`` -> one queries.parquet row per task.

Each line is a ``QueryTrace`` (harness ``execution/trace.py``): the task's id, prompt and final
response, its turns (tokens, tools called, per-tool latencies, wall clock, GPU and CPU energy)
and, in newer versions, query-level energy measured over the whole task window. A task's energy
is that query-level figure when recorded (it covers every turn and every tool call, including the
gaps between turns), else the sum of its turns' energies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluator.errors import BundleError
from evaluator.harness.detect import TRACES
from evaluator.harness.profile import measured, number


def read_traces(run_dir: Path, invalid: str) -> tuple[list[dict[str, Any]], bytes]:
    """The tasks of ``traces.jsonl`` (one JSON object a line) and the file's bytes."""
    path = run_dir / TRACES
    data = path.read_bytes()
    tasks: list[dict[str, Any]] = []
    for number_, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            task = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BundleError(
                invalid, f"{TRACES} line {number_} is not JSON: {exc}", file=TRACES
            ) from exc
        if not isinstance(task, dict) or not task.get("query_id"):
            raise BundleError(invalid, f"{TRACES} line {number_} has no query_id", file=TRACES)
        tasks.append(task)
    if not tasks:
        raise BundleError(invalid, f"{TRACES} holds no task", file=TRACES)
    return tasks, data


def as_match_row(task: Mapping[str, Any]) -> dict[str, Any]:
    """The shape the profile matcher reads: an id in the metadata, the prompt as ``problem``."""
    return {"dataset_metadata": {"id": task.get("query_id")}, "problem": task.get("query_text")}


def _summed(turns: list[Mapping[str, Any]], key: str) -> float | None:
    values = [measured(turn.get(key)) for turn in turns]
    known = [v for v in values if v is not None]
    return float(sum(known)) if known else None


def _tokens(turns: list[Mapping[str, Any]], key: str) -> int | None:
    values = [number(turn.get(key)) for turn in turns]
    if not turns or any(v is None for v in values):
        return None  # the harness's own rule: one unknown turn makes the total unknown
    return int(sum(v for v in values if v is not None))


def task_values(task: Mapping[str, Any], basis: str) -> dict[str, Any]:
    """A task's queries.parquet values; ``energy_j`` None when nothing was metered."""
    turns = [t for t in task.get("turns") or [] if isinstance(t, Mapping)]
    gpu = measured(task.get("query_gpu_energy_joules"))
    if gpu is None:
        gpu = _summed(turns, "gpu_energy_joules")
    cpu = measured(task.get("query_cpu_energy_joules"))
    if cpu is None:
        cpu = _summed(turns, "cpu_energy_joules")
    energy = gpu
    if basis == "cpu_accelerator":
        energy = None if gpu is None or cpu is None else gpu + cpu
    latency = measured(task.get("total_wall_clock_s")) or _summed(turns, "wall_clock_s")
    tool_s = [
        measured(seconds)
        for turn in turns
        for seconds in (turn.get("tool_latencies_s") or {}).values()
    ]
    return {
        "response": str(task.get("response_text") or ""),
        "input_tokens": _tokens(turns, "input_tokens"),
        "output_tokens": _tokens(turns, "output_tokens"),
        "ttft_s": None,  # a task has many first tokens
        "latency_s": latency,
        "energy_j": energy,
        "power_avg_w": measured(task.get("query_gpu_power_avg_watts"))
        if basis == "accelerator"
        else None,
        "power_max_w": None,
        "power_min_w": None,
        "power_median_w": None,
        "started_at": None,
        "ended_at": None,
        "cpu_energy_j": cpu,
        "turns": len(turns),
        "tool_calls": sum(len(turn.get("tools_called") or []) for turn in turns),
        "tool_s": float(sum(s for s in tool_s if s is not None)),
    }
