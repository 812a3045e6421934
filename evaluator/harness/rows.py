"""Run rows (``ipw profile`` records or ``ipw run`` tasks) -> the columns of queries.parquet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from evaluator.bundle.tables import (
    OPTIONAL_QUERY_COLUMNS,
    PHASE_ENERGY_SLACK_J,
    PHASE_ENERGY_TOLERANCE,
    query_schema_for,
)
from evaluator.errors import BundleError, register
from evaluator.harness import agentic, profile
from evaluator.harness.profile import get as _get
from evaluator.harness_report import ImportReport
from evaluator.types import Dataset

ROW_INVALID = register("harness.row.invalid", "A run row lacks its latency.")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _profile_values(
    row: Mapping[str, Any],
    index: int,
    query_id: str,
    model: str,
    basis: str,
    generation: str,
    report: ImportReport,
) -> dict[str, Any]:
    metrics = _get(row, "model_metrics", model) or {}
    latency = _float(_get(metrics, "latency_metrics", "total_query_seconds"))
    if latency is None:
        raise BundleError(
            ROW_INVALID,
            f"row {index} ({query_id}) has no latency_metrics.total_query_seconds",
            row=index,
            field="latency_metrics.total_query_seconds",
        )
    energy, watts = profile.row_values(metrics, basis, latency)
    if energy is None:
        # No energy: the chained runner writes None after a counter reset, the in-window one for
        # a negative counter delta, and ipw analyze imputes both like a zero. Written as 0 J, every
        # generation falls under the board's one zero-energy rule (evaluator.checks.energy: at
        # most 5 % of rows, each counted as the run's P_bar x t_q), applied by the engine. No
        # per-row estimate here (the chained path once used the row's average power x latency).
        energy = 0.0
        report.energy_none.append(query_id)
    elif energy == 0:
        report.energy_zero.append(query_id)
    response = metrics.get("lm_response")
    if response is None:
        response = _get(row, "model_answers", model)
    if response is None:
        report.response_missing.append(query_id)
        response = ""
    tokens = metrics.get("token_metrics") or {}
    values = {
        "response": str(response),
        "input_tokens": _int(tokens.get("input")),
        "output_tokens": _int(tokens.get("output")),
        "ttft_s": _float(_get(metrics, "latency_metrics", "time_to_first_token_seconds")),
        "latency_s": latency,
        "energy_j": energy,
        **watts,
        "started_at": None,  # the harness records durations, not instants
        "ended_at": None,
    }
    if generation != "chained":
        values.update(profile.optional_values(metrics, energy))
        if query_id in report.energy_none:  # no total to hold the phases against: unknown
            values.update(prefill_energy_j=None, decode_energy_j=None)
    return values


def _agentic_values(
    task: Mapping[str, Any], index: int, query_id: str, basis: str, report: ImportReport
) -> dict[str, Any]:
    values = agentic.task_values(task, basis)
    if not values["latency_s"]:
        raise BundleError(
            ROW_INVALID,
            f"task {index} ({query_id}) has no total_wall_clock_s and no turn wall clock",
            row=index,
            field="total_wall_clock_s",
        )
    if values["energy_j"] is None:
        values["energy_j"] = 0.0  # nothing metered: the zero-energy rule decides (see above)
        report.energy_none.append(query_id)
    elif values["energy_j"] == 0:
        report.energy_zero.append(query_id)
    if not values["response"]:
        report.response_missing.append(query_id)
    return values


def query_rows(
    rows: list[dict[str, Any]],
    ids: list[str],
    model: str,
    dataset: Dataset,
    report: ImportReport,
    basis: str,
) -> dict[str, list[Any]]:
    references = {item.id: item.reference for item in dataset.items}
    out: dict[str, list[Any]] = {}
    generation = report.generation
    for index, (row, query_id) in enumerate(zip(rows, ids, strict=True)):
        if generation == "agentic":
            values = _agentic_values(row, index, query_id, basis, report)
        else:
            values = _profile_values(row, index, query_id, model, basis, generation, report)
            reference, ours = row.get("answer"), references.get(query_id)
            if None not in (reference, ours) and str(reference).strip() != str(ours).strip():
                report.reference_mismatches.append(query_id)
        values["query_id"] = query_id
        for name, value in values.items():
            out.setdefault(name, [None] * index).append(value)
    return out


def queries_table(columns: dict[str, list[Any]], report: ImportReport) -> pa.Table:
    """QUERY_SCHEMA plus the optional columns with at least one value."""
    kept = [
        c.name
        for c in OPTIONAL_QUERY_COLUMNS
        if any(v is not None for v in columns.get(c.name, []))
    ]
    if {"prefill_energy_j", "decode_energy_j"} & set(kept):
        # Phase energies above the query's are refused by the engine; a run whose phases are on
        # other rails than energy_j (possible with the SoC basis) keeps its rows without them.
        energy = columns["energy_j"]
        phases = [
            (columns.get("prefill_energy_j") or [None] * len(energy))[i] or 0.0
            for i in range(len(energy))
        ]
        phases = [
            p + ((columns.get("decode_energy_j") or [None] * len(energy))[i] or 0.0)
            for i, p in enumerate(phases)
        ]
        if any(
            p > e * (1 + PHASE_ENERGY_TOLERANCE) + PHASE_ENERGY_SLACK_J
            for p, e in zip(phases, energy, strict=True)
        ):
            kept = [name for name in kept if name not in ("prefill_energy_j", "decode_energy_j")]
            report.notes.append(
                "phase energies exceed the query energy on the chosen basis on some rows "
                "(other rails): phase energies not imported"
            )
    report.optional_columns = kept
    schema = query_schema_for(kept)
    return pa.table({name: columns.get(name) for name in schema.names}, schema=schema)
