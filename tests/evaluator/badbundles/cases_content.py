"""Bad cases: the manifest, the queries and the trace."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from badbundles.rewrite import (
    CASES,
    BadCase,
    case,
    mutate,
    set_column,
    signature_for,
    with_members,
)
from evaluator.limits import DEFAULT_LIMITS

# -- manifest -----------------------------------------------------------------


@case("bundle.json.invalid")
def manifest_not_json(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest_bytes=lambda b: b"format_version: 1.0\n")


@case("bundle.json.invalid")
def manifest_not_utf8(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid, tmp, manifest_bytes=lambda b: b.replace(b'"notes', b'"n\xffotes') + b"\xff"
    )


@case("bundle.json.non_finite")
def manifest_nan_literal(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid, tmp, manifest_bytes=lambda b: b.replace(b'"accuracy": 0.9', b'"accuracy": NaN')
    )


@case("bundle.json.non_finite")
def manifest_infinity_literal(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid, tmp, manifest_bytes=lambda b: b.replace(b'"tdp_w": 700', b'"tdp_w": Infinity')
    )


@case("bundle.json.too_deep")
def manifest_deep_nesting(valid: Path, tmp: Path) -> Path:
    deep: Any = "bottom"
    for _ in range(40):
        deep = {"d": deep}
    return mutate(valid, tmp, manifest=lambda m: m["system"].update(deep=deep))


@case("bundle.json.too_deep")
def manifest_bracket_bomb(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest_bytes=lambda b: b"[" * 100_000 + b"]" * 100_000)


@case("bundle.json.duplicate_key")
def manifest_duplicate_key(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid,
        tmp,
        manifest_bytes=lambda b: b.replace(
            b'"synthetic": true', b'"synthetic": true, "synthetic": false'
        ),
    )


@case("bundle.manifest.too_large", replace(DEFAULT_LIMITS, max_manifest_bytes=500))
def manifest_too_large(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp)


@case("bundle.manifest.invalid")
def manifest_not_object(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest_bytes=lambda b: b"[]")


@case("bundle.manifest.unsupported_version")
def manifest_future_version(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=lambda m: m.update(format_version="2.0"))


@case("bundle.manifest.unsupported_version")
def manifest_unknown_minor_version(valid: Path, tmp: Path) -> Path:
    """A minor version this reader does not know yet (1.1 is the newest)."""
    return mutate(valid, tmp, manifest=lambda m: m.update(format_version="1.2"))


def _schema_case(name: str, edit: Callable[[dict[str, Any]], Any]) -> None:
    def build(valid: Path, tmp: Path) -> Path:
        return mutate(valid, tmp, manifest=edit)

    build.__name__ = f"schema_{name}"
    CASES.append(BadCase(build.__name__, build, "bundle.manifest.invalid"))


_schema_case("missing_run_id", lambda m: m.pop("run_id"))
_schema_case("run_id_not_uuid", lambda m: m.update(run_id="run-42"))
_schema_case("created_at_not_rfc3339", lambda m: m.update(created_at="21/11/2025 10:00"))
_schema_case("created_at_impossible_date", lambda m: m.update(created_at="2025-02-30T10:00:00Z"))
_schema_case("synthetic_not_bool", lambda m: m.update(synthetic="yes"))
_schema_case("scope_unknown", lambda m: m["measurement"].update(scope="rack"))
_schema_case("method_unknown", lambda m: m["measurement"].update(method="guess"))
_schema_case("period_zero", lambda m: m["measurement"].update(sampling_period_s=0))
_schema_case("hardware_count_zero", lambda m: m["hardware"].update(count=0))
_schema_case("hardware_class_unknown", lambda m: m["hardware"].update(**{"class": "edge"}))
_schema_case("model_missing_engine", lambda m: m["model"].pop("engine"))
_schema_case("dataset_sha_not_hex", lambda m: m["dataset"].update(sha256="xyz"))
_schema_case(
    "window_reversed",
    lambda m: m["window"].update(start=m["window"]["end"], end=m["window"]["start"]),
)
_schema_case("window_no_offset", lambda m: m["window"].update(start="2025-11-21T10:00:00"))
_schema_case("unknown_top_level_field", lambda m: m.update(score=99))
_schema_case("claimed_accuracy_above_one", lambda m: m["claimed"].update(accuracy=1.5))
_schema_case("challenge_not_string", lambda m: m.update(challenge=12345))


@case("bundle.dataset.mismatch")
def wrong_dataset_sha(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=lambda m: m["dataset"].update(sha256="0" * 64))


@case("bundle.dataset.mismatch")
def wrong_dataset_version(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=lambda m: m["dataset"].update(version="2"))


@case("bundle.dataset.mismatch")
def wrong_dataset_slug(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=lambda m: m["dataset"].update(slug="other-set"))


# -- queries ------------------------------------------------------------------


def _edit_row(name: str, row: int, value: Any) -> Callable[[pa.Table], pa.Table]:
    def edit(table: pa.Table) -> pa.Table:
        values = table.column(name).to_pylist()
        values[row] = value
        return set_column(table, name, values)

    return edit


@case("bundle.queries.not_parquet")
def queries_not_parquet(valid: Path, tmp: Path) -> Path:
    def change(members: dict[str, bytes]) -> None:
        members["queries.parquet"] = b"query_id,response\nmc-000,B\n"
        members["signature.dsse.json"] = signature_for(members)

    return with_members(valid, tmp, change)


@case("bundle.queries.schema")
def queries_missing_column(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=lambda t: t.drop_columns(["latency_s"]))


@case("bundle.queries.schema")
def queries_wrong_type(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid,
        tmp,
        queries=lambda t: set_column(
            t, "latency_s", [str(v) for v in t.column("latency_s").to_pylist()], pa.string()
        ),
    )


@case("bundle.queries.empty")
def queries_empty(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=lambda t: t.slice(0, 0))


@case("bundle.queries.too_many_rows", replace(DEFAULT_LIMITS, max_queries=5))
def queries_too_many(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp)


@case("bundle.queries.null_value")
def null_response(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("response", 2, None))


@case("bundle.queries.null_value")
def null_query_id(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("query_id", 0, None))


@case("bundle.queries.response_too_long", replace(DEFAULT_LIMITS, max_response_chars=50))
def response_too_long(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("response", 3, "B" * 51))


@case("bundle.workload.missing_queries")
def missing_query_rows(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=lambda t: t.slice(0, t.num_rows - 3))


@case("bundle.workload.duplicate_query")
def duplicate_query(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=lambda t: pa.concat_tables([t, t.slice(4, 1)]))


@case("bundle.workload.unknown_query")
def unknown_query_id(valid: Path, tmp: Path) -> Path:
    extra = _edit_row("query_id", 0, "not-in-dataset")
    return mutate(
        valid, tmp, queries=lambda t: pa.concat_tables([t, extra(t.slice(0, 1)).cast(t.schema)])
    )


@case("bundle.queries.energy_missing")
def missing_energy(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("energy_j", 5, None))


@case("bundle.queries.non_finite")
def nan_energy(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("energy_j", 5, math.nan))


@case("bundle.queries.non_finite")
def infinite_latency(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("latency_s", 5, math.inf))


@case("bundle.queries.energy_negative")
def negative_energy(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("energy_j", 6, -3.0))


@case("bundle.queries.negative_value")
def negative_tokens(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("output_tokens", 6, -1))


@case("bundle.timing.latency_nonpositive")
def negative_latency(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("latency_s", 7, -0.5))


@case("bundle.timing.latency_nonpositive")
def zero_latency(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("latency_s", 7, 0.0))


@case("bundle.timing.ttft_exceeds_latency")
def ttft_above_latency(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("ttft_s", 8, 5.0))


@case("bundle.timing.ttft_negative")
def negative_ttft(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, queries=_edit_row("ttft_s", 8, -0.1))


@case("bundle.timing.order")
def started_after_ended(valid: Path, tmp: Path) -> Path:
    def edit(table: pa.Table) -> pa.Table:
        started = table.column("started_at").to_pylist()
        ended = table.column("ended_at").to_pylist()
        started[2], ended[2] = ended[2], started[2]
        return set_column(set_column(table, "started_at", started), "ended_at", ended)

    return mutate(valid, tmp, queries=edit)


@case("bundle.timing.outside_window")
def query_outside_window(valid: Path, tmp: Path) -> Path:
    def edit(table: pa.Table) -> pa.Table:
        shift = 3600.0
        started = [
            v + shift if i == 9 else v for i, v in enumerate(table.column("started_at").to_pylist())
        ]
        ended = [
            v + shift if i == 9 else v for i, v in enumerate(table.column("ended_at").to_pylist())
        ]
        return set_column(set_column(table, "started_at", started), "ended_at", ended)

    return mutate(valid, tmp, queries=edit)


# -- trace --------------------------------------------------------------------


def _trace_column(
    name: str, edit: Callable[[np.ndarray], np.ndarray]
) -> Callable[[pa.Table], pa.Table]:
    def apply(table: pa.Table) -> pa.Table:
        values = edit(table.column(name).to_numpy().copy())
        return set_column(table, name, values.tolist())

    return apply


def _nan_every(step: int) -> Callable[[np.ndarray], np.ndarray]:
    def edit(values: np.ndarray) -> np.ndarray:
        values[::step] = np.nan
        return values

    return edit


@case("bundle.trace.schema")
def trace_missing_column(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, trace=lambda t: t.drop_columns(["energy_j"]))


@case("bundle.trace.not_parquet")
def trace_not_parquet(valid: Path, tmp: Path) -> Path:
    def change(members: dict[str, bytes]) -> None:
        members["trace.parquet"] = b"timestamp_ns,power_w,energy_j\n1,2,3\n"
        members["signature.dsse.json"] = signature_for(members)

    return with_members(valid, tmp, change)


@case("bundle.trace.too_many_rows", replace(DEFAULT_LIMITS, max_trace_samples=10))
def trace_too_many_rows(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp)


@case("bundle.trace.too_short")
def trace_single_sample(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, trace=lambda t: t.slice(0, 1))


@case("bundle.trace.timestamps_not_increasing")
def trace_timestamps_swapped(valid: Path, tmp: Path) -> Path:
    def edit(values: np.ndarray) -> np.ndarray:
        values[[10, 11]] = values[[11, 10]]
        return values

    return mutate(valid, tmp, trace=_trace_column("timestamp_ns", edit))


@case("bundle.trace.energy_decreasing")
def trace_decreasing_counter(valid: Path, tmp: Path) -> Path:
    def edit(values: np.ndarray) -> np.ndarray:
        values[50:] -= 100.0
        return values

    return mutate(valid, tmp, trace=_trace_column("energy_j", edit))


@case("bundle.trace.energy_non_finite")
def trace_nan_energy(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, trace=_trace_column("energy_j", _nan_every(97)))


@case("bundle.trace.power_invalid")
def trace_nan_power(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, trace=_trace_column("power_w", _nan_every(20)))


@case("bundle.trace.power_invalid")
def trace_power_above_limit(valid: Path, tmp: Path) -> Path:
    def edit(values: np.ndarray) -> np.ndarray:
        values[::10] = 5000.0
        return values

    return mutate(valid, tmp, trace=_trace_column("power_w", edit))


@case("bundle.trace.power_invalid")
def trace_zero_power(valid: Path, tmp: Path) -> Path:
    def edit(values: np.ndarray) -> np.ndarray:
        values[::10] = 0.0
        return values

    return mutate(valid, tmp, trace=_trace_column("power_w", edit))


@case("bundle.trace.gap")
def trace_gap(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, trace=lambda t: pa.concat_tables([t.slice(0, 40), t.slice(60)]))


@case("bundle.trace.period_mismatch")
def trace_period_mismatch(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=lambda m: m["measurement"].update(sampling_period_s=0.1))


@case("bundle.trace.period_mismatch")
def trace_decimated(valid: Path, tmp: Path) -> Path:
    # Every other sample dropped: the trace is really sampled at 0.1 s.
    return mutate(valid, tmp, trace=lambda t: t.take(list(range(0, t.num_rows, 2))))


@case("bundle.trace.coverage")
def trace_half_window(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, trace=lambda t: t.slice(0, t.num_rows // 2))


@case("bundle.trace.energy_integral_mismatch")
def trace_counter_doubled(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, trace=_trace_column("energy_j", lambda v: v * 2.0))


@case("bundle.trace.energy_sum_mismatch")
def per_query_energy_halved(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid,
        tmp,
        queries=lambda t: set_column(
            t, "energy_j", [e * 0.5 for e in t.column("energy_j").to_pylist()]
        ),
    )
