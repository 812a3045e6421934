"""The harness-import report: what ``import_ipw_run`` did to the harness's output, and why.

It travels in the manifest (``manifest["import"]``) so the board can say what was imported and how.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SOURCE = "ipw-harness"
MAX_LISTED = 50  # ids kept per quirk in the report; the manifest has a size cap


@dataclass
class ImportReport:
    """What the import did to the harness's output; stored as manifest["import"]."""

    source: str = SOURCE
    run_dir: str = ""
    # Which harness generation wrote the run (evaluator.harness.detect): "chained" or "in_window"
    # (ipw profile), "agentic" (ipw run); and the fields that told.
    generation: str = ""
    generation_evidence: list[str] = field(default_factory=list)
    workload: str = "single_turn"
    energy_basis: str = ""
    basis_notes: list[str] = field(default_factory=list)
    optional_columns: list[str] = field(default_factory=list)  # optional per-query columns filled
    claimed: dict[str, Any] = field(default_factory=dict)  # the harness's grades, as claimed
    graded: dict[str, int] = field(default_factory=dict)  # rows with evaluation.is_correct
    notes: list[str] = field(default_factory=list)
    model_key: str = ""
    shards: list[str] = field(default_factory=list)
    rows: int = 0
    matched_by_id: int = 0
    matched_by_prompt: int = 0
    # Rows without energy: written as 0 J for the zero-energy rule (evaluator.checks.energy).
    energy_none: list[str] = field(default_factory=list)
    energy_zero: list[str] = field(default_factory=list)  # kept: short queries read 0 J
    first_query_model_load: dict[str, Any] = field(default_factory=dict)
    null_typed_columns: list[str] = field(default_factory=list)
    empty_struct_columns: list[str] = field(default_factory=list)
    reference_mismatches: list[str] = field(default_factory=list)  # ignored: ours is canonical
    response_missing: list[str] = field(default_factory=list)  # imported as ""
    lm_correctness_ignored: bool = True
    per_query_timestamps: bool = False
    window_estimated: bool = True
    has_trace: bool = False
    # With a recorded trace the window is the trace's span intersected with the estimate.
    window_from_trace: bool = False
    trace_span: dict[str, Any] = field(default_factory=dict)
    defaulted_fields: list[str] = field(default_factory=list)
    quirks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, list) and key not in ("quirks", "shards", "notes"):
                data[key] = value[:MAX_LISTED]
                if len(value) > MAX_LISTED:
                    data[f"{key}_count"] = len(value)
        return data


def found(report: ImportReport | Mapping[str, Any]) -> list[str]:
    """What the import found (from the report or its ``to_dict()``), for ``ipwboard pack``."""
    data = report.to_dict() if isinstance(report, ImportReport) else report
    if not data.get("generation"):
        return []  # a report from before imports recorded what they found
    lines = [
        f"harness generation: {data['generation']} "
        f"({'; '.join(data.get('generation_evidence') or [])})",
        f"workload: {data.get('workload')}; {data.get('rows')} rows; "
        + "; ".join(data.get("basis_notes") or [f"energy basis {data.get('energy_basis')!r}"]),
    ]
    if data.get("optional_columns"):
        lines.append(f"per-query columns carried: {', '.join(data['optional_columns'])}")
    if data.get("claimed"):
        shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(data["claimed"].items()))
        lines.append(f"carried as the submitter's claim (checked, never used): {shown}")
    return lines + list(data.get("notes") or [])


def _attribution_quirk(report: ImportReport) -> str:
    if report.generation == "chained":
        return (
            "per-query energy is the counter delta since the previous query ended, so idle gaps "
            "count against the next query (attribution 'chained': ranked apart from in-window "
            "runs)"
        )
    if report.generation == "agentic":
        return (
            "each task's energy covers all its turns and tool calls (query-level energy, else "
            "the sum of its turns); ranked on the agentic track"
        )
    return "per-query energy is measured inside each query's own window (attribution 'in_window')"


def quirks_for(report: ImportReport, n: int) -> list[str]:
    grading = (
        "lm_correctness is ignored: the harness grades nothing; the board re-scores every answer"
        if not report.claimed
        else "the harness's own grades are carried as a claim only; the board re-scores every "
        "answer"
    )
    quirks = [
        grading,
        (
            "no per-query timestamps: started_at/ended_at are null and the run window is estimated "
            "as summary.generated_at minus the summed latencies"
            if report.window_estimated
            else "no per-query timestamps: started_at/ended_at are null; the run window is the "
            "harness's recorded start_time and end_time"
        )
        + (
            ", intersected with the recorded trace's span; the per-query energy sum is compared "
            "with the trace over that window loosely (a warning, not a rejection)"
            if report.window_from_trace
            else ""
        ),
        _attribution_quirk(report),
    ]
    load = report.first_query_model_load
    if load:
        quirks.append(
            f"the first query ({load['query_id']}) is measured with model load: "
            f"{load['energy_j']:.1f} J vs a median of {load['median_energy_j']:.1f} J"
        )
    if report.energy_zero:
        quirks.append(
            f"{len(report.energy_zero)} of {n} queries read 0 J (energy moves in steps of the "
            "sampling period); kept as measured"
        )
    if report.energy_none:
        quirks.append(
            f"{len(report.energy_none)} queries had no energy; written as 0 J: the board's "
            "zero-energy rule imputes them as the run's mean power x latency (at most 5%)"
        )
    if report.null_typed_columns:
        quirks.append(f"null-typed columns ignored: {', '.join(report.null_typed_columns)}")
    if report.empty_struct_columns:
        quirks.append(f"empty struct columns dropped: {', '.join(report.empty_struct_columns)}")
    if report.reference_mismatches:
        quirks.append(
            f"{len(report.reference_mismatches)} reference answers in the run differ from the "
            "dataset's and were ignored"
        )
    if report.response_missing:
        quirks.append(f"{len(report.response_missing)} queries had no response; imported as ''")
    if not report.has_trace:
        quirks.append("no raw telemetry trace: trace-based checks cannot run")
    elif not report.window_from_trace and report.trace_span:
        quirks.append(
            f"the trace ({report.trace_span['start']} to {report.trace_span['end']}) does not "
            "overlap the estimated run window: was it recorded during this run?"
        )
    if report.defaulted_fields:
        quirks.append(
            f"not recorded by the harness, set to 'unknown': {', '.join(report.defaulted_fields)}"
        )
    return quirks
