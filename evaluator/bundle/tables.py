"""The two Parquet members: their columns, and bounded-memory readers.

Columns are looked up by name (order and extra columns do not matter) and read in row batches so
that memory stays proportional to the batch, not the file. Only the few numeric columns the checks
need are kept for every row; responses are streamed again when scoring.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeAlias, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evaluator.errors import BundleError, register
from evaluator.limits import DEFAULT_LIMITS, Limits

QUERIES_NAME = "queries.parquet"
TRACE_NAME = "trace.parquet"


class Column(NamedTuple):
    name: str
    type: pa.DataType
    nullable: bool
    unit: str
    description: str


QUERY_COLUMNS: tuple[Column, ...] = (
    Column("query_id", pa.string(), False, "", "the dataset item's id"),
    Column("response", pa.string(), False, "", "the model's raw response text"),
    Column("input_tokens", pa.int64(), True, "tokens", "prompt tokens"),
    Column("output_tokens", pa.int64(), True, "tokens", "generated tokens (thinking included)"),
    Column("ttft_s", pa.float64(), True, "s", "time to first token"),
    Column("latency_s", pa.float64(), False, "s", "end-to-end query latency, > 0"),
    Column("energy_j", pa.float64(), True, "J", "energy attributed to the query (required)"),
    Column("power_avg_w", pa.float64(), True, "W", "mean power during the query"),
    Column("power_max_w", pa.float64(), True, "W", "maximum power during the query"),
    Column("power_min_w", pa.float64(), True, "W", "minimum power during the query"),
    Column("power_median_w", pa.float64(), True, "W", "median power during the query"),
    Column("started_at", pa.float64(), True, "s since epoch", "query start, UTC"),
    Column("ended_at", pa.float64(), True, "s since epoch", "query end, UTC"),
)
# Optional per-query columns (newer reference-harness runs and agentic runs carry them): found by
# name when present, type-checked, validated (non-negative, finite, phase energies within energy_j)
# and carried to the per-query results. A bundle without them is complete.
OPTIONAL_QUERY_COLUMNS: tuple[Column, ...] = (
    Column(
        "reasoning_tokens",
        pa.int64(),
        True,
        "tokens",
        "hidden reasoning (thinking) tokens, included in output_tokens, <= output_tokens",
    ),
    Column("prefill_energy_j", pa.float64(), True, "J", "energy of the prefill phase (to TTFT)"),
    Column("decode_energy_j", pa.float64(), True, "J", "energy of the decode phase (after TTFT)"),
    Column("prefill_s", pa.float64(), True, "s", "duration of the prefill phase"),
    Column("decode_s", pa.float64(), True, "s", "duration of the decode phase"),
    Column("cpu_energy_j", pa.float64(), True, "J", "host CPU (RAPL package or SoC CPU rail)"),
    Column("ane_energy_j", pa.float64(), True, "J", "Apple neural engine rail"),
    Column("gpu_utilization_pct", pa.float64(), True, "%", "mean compute utilisation, 0 to 100"),
    Column("mfu", pa.float64(), True, "", "model FLOPs utilisation (fraction), >= 0"),
    Column("mbu", pa.float64(), True, "", "model bandwidth utilisation (fraction), >= 0"),
    Column("turns", pa.int64(), True, "turns", "agentic: model calls in the task"),
    Column("tool_calls", pa.int64(), True, "calls", "agentic: tool calls in the task"),
    Column("tool_s", pa.float64(), True, "s", "agentic: summed tool-call latency"),
)
OPTIONAL_QUERY_NAMES = tuple(c.name for c in OPTIONAL_QUERY_COLUMNS)
# Phase energies are integrated from the same samples as energy_j, split at the first token; the
# boundary sample can be counted on both sides, hence a 1 % allowance (and 1 mJ for tiny queries).
PHASE_ENERGY_TOLERANCE = 0.01
PHASE_ENERGY_SLACK_J = 1e-3
TRACE_COLUMNS: tuple[Column, ...] = (
    Column("timestamp_ns", pa.int64(), False, "ns since epoch", "sample time, UTC"),
    Column("power_w", pa.float64(), False, "W", "instantaneous power"),
    Column("energy_j", pa.float64(), False, "J", "cumulative energy since the meter started"),
)
QUERY_SCHEMA = pa.schema([pa.field(c.name, c.type, c.nullable) for c in QUERY_COLUMNS])
TRACE_SCHEMA = pa.schema([pa.field(c.name, c.type, c.nullable) for c in TRACE_COLUMNS])


def query_schema_for(names: Sequence[str]) -> pa.Schema:
    """QUERY_SCHEMA plus the optional columns among ``names`` (what a packer keeps)."""
    extra = [c for c in OPTIONAL_QUERY_COLUMNS if c.name in names]
    return pa.schema([*QUERY_SCHEMA, *(pa.field(c.name, c.type, c.nullable) for c in extra)])


FLOAT_QUERY_COLUMNS = tuple(c.name for c in QUERY_COLUMNS if c.name not in ("query_id", "response"))


def _codes(prefix: str, what: str) -> dict[str, str]:
    codes = {
        "not_parquet": register(
            f"bundle.{prefix}.not_parquet", f"{what} is not a readable Parquet file."
        ),
        "schema": register(
            f"bundle.{prefix}.schema", f"{what} lacks a required column or has a wrong type."
        ),
        "too_many": register(f"bundle.{prefix}.too_many_rows", f"{what} has too many rows."),
        "null": register(f"bundle.{prefix}.null_value", f"A required value in {what} is null."),
    }
    if prefix == "queries":  # NaN in a trace is judged by the telemetry checks instead
        codes["non_finite"] = register(
            f"bundle.{prefix}.non_finite", f"A number in {what} is NaN or infinite."
        )
    return codes


Q = _codes("queries", QUERIES_NAME)
T = _codes("trace", TRACE_NAME)
QUERIES_EMPTY = register("bundle.queries.empty", "queries.parquet has no rows.")
OPTIONAL_INVALID = register(
    "bundle.queries.optional_invalid",
    "An optional per-query column (reasoning tokens, phase or rail energy, utilisation, turns, "
    "tool calls) is negative or out of its range.",
)
PHASE_ENERGY = register(
    "bundle.queries.phase_energy",
    "A query's prefill_energy_j + decode_energy_j exceed its energy_j.",
)
RESPONSE_TOO_LONG = register(
    "bundle.queries.response_too_long", "A response is longer than the limit."
)

_COMPATIBLE: dict[pa.DataType, tuple[pa.DataType, ...]] = {
    pa.string(): (pa.string(), pa.large_string()),
    pa.int64(): (pa.int64(), pa.int32(), pa.int16(), pa.int8(), pa.uint32(), pa.uint16()),
    pa.float64(): (pa.float64(), pa.float32()),
}


# A Parquet member: a path, or an open reader (``evaluator.bundle.unpack.Member.open``).
Source: TypeAlias = Path | pa.NativeFile


def open_parquet(
    path: Source, columns: tuple[Column, ...], file: str, max_rows: int, codes: dict[str, str]
) -> pq.ParquetFile:
    try:
        # No pre-buffering: it caches every column chunk of the file (the whole trace, compressed)
        # for the life of the reader; streaming needs one row group at a time.
        handle = pq.ParquetFile(path, pre_buffer=False)
        schema = handle.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise BundleError(codes["not_parquet"], f"cannot read Parquet: {exc}", file=file) from exc
    names = schema.names
    for column in columns:
        if column.name not in names:
            raise BundleError(
                codes["schema"],
                f"missing column {column.name!r} ({column.description})",
                file=file,
                field=column.name,
            )
        if names.count(column.name) > 1:
            raise BundleError(
                codes["schema"],
                f"column {column.name!r} appears twice",
                file=file,
                field=column.name,
            )
        actual = schema.field(column.name).type
        if actual not in _COMPATIBLE[column.type] and not pa.types.is_null(actual):
            raise BundleError(
                codes["schema"],
                f"column {column.name!r} is {actual}; expected {column.type}",
                file=file,
                field=column.name,
            )
    rows = handle.metadata.num_rows
    if rows > max_rows:
        raise BundleError(codes["too_many"], f"{rows} rows; at most {max_rows}", file=file)
    return handle


def _first(mask: pa.Array | pa.ChunkedArray) -> int:
    return int(np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))[0])


def _float_column(
    batch: pa.RecordBatch, name: str, offset: int, file: str, codes: dict[str, str]
) -> np.ndarray:
    """Float64 numpy array with NaN for nulls; a NaN or inf that is not a null is rejected."""
    array = batch.column(name)
    if pa.types.is_null(array.type):
        return np.full(len(array), np.nan)
    array = pc.cast(array, pa.float64())
    bad = pc.fill_null(pc.invert(pc.is_finite(array)), False)
    if pc.any(bad).as_py():
        row = offset + _first(bad)
        raise BundleError(
            codes["non_finite"],
            f"{name} is {array[row - offset].as_py()} at row {row}; write null or a number",
            file=file,
            row=row,
            field=name,
        )
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)


class IdColumn(Sequence[str]):
    """The query ids as one Arrow string array, read like a list of str.

    A million ids are ~15 MB here against ~70 MB as Python strings, and the workload check matches
    them against the dataset in Arrow (``pyarrow.compute.index_in``) without a Python dict.
    """

    def __init__(self, array: pa.Array | pa.ChunkedArray) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return list(self.array[index].to_pylist())
        return str(self.array[index].as_py())

    def __iter__(self) -> Iterator[str]:
        chunks = self.array.chunks if isinstance(self.array, pa.ChunkedArray) else [self.array]
        for chunk in chunks:
            yield from chunk.to_pylist()


@dataclass
class QueryColumns:
    """Everything the checks need from queries.parquet, one entry per row (0-based)."""

    ids: IdColumn
    response_chars: np.ndarray  # int64
    # FLOAT_QUERY_COLUMNS and the optional columns present -> float64, NaN where null
    numbers: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.numbers[name]

    @property
    def optional(self) -> tuple[str, ...]:
        """The optional columns the file has (OPTIONAL_QUERY_COLUMNS order)."""
        return tuple(name for name in OPTIONAL_QUERY_NAMES if name in self.numbers)


def _require_non_null(
    batch: pa.RecordBatch, name: str, offset: int, file: str, codes: dict[str, str]
) -> None:
    array = batch.column(name)
    if array.null_count:
        row = offset + _first(array.is_null())
        raise BundleError(
            codes["null"], f"{name} is null at row {row}", file=file, row=row, field=name
        )


def read_query_columns(path: Source, limits: Limits = DEFAULT_LIMITS) -> QueryColumns:
    handle = open_parquet(path, QUERY_COLUMNS, QUERIES_NAME, limits.max_queries, Q)
    present = set(handle.schema_arrow.names)
    optional = tuple(c for c in OPTIONAL_QUERY_COLUMNS if c.name in present)
    _check_types(handle, optional)
    floats = FLOAT_QUERY_COLUMNS + tuple(c.name for c in optional)
    rows = handle.metadata.num_rows
    if rows == 0:
        raise BundleError(QUERIES_EMPTY, "queries.parquet has no rows", file=QUERIES_NAME)
    # Filled in place, batch by batch: concatenating per-batch parts would hold every column twice.
    ids: list[pa.Array] = []
    chars = np.empty(rows, dtype=np.int64)
    numbers = {name: np.empty(rows, dtype=np.float64) for name in floats}
    offset = 0
    names = [c.name for c in QUERY_COLUMNS] + [c.name for c in optional]
    for batch in handle.iter_batches(batch_size=limits.batch_rows, columns=names):
        if offset + batch.num_rows > rows:
            raise BundleError(
                Q["not_parquet"],
                f"the file holds more rows than its metadata declares ({rows})",
                file=QUERIES_NAME,
            )
        for name in ("query_id", "response", "latency_s"):
            _require_non_null(batch, name, offset, QUERIES_NAME, Q)
        ids.append(pc.cast(batch.column("query_id"), pa.string()))
        lengths = pc.utf8_length(batch.column("response")).to_numpy(zero_copy_only=False)
        if len(lengths) and lengths.max() > limits.max_response_chars:
            row = offset + int(np.argmax(lengths))
            raise BundleError(
                RESPONSE_TOO_LONG,
                f"response at row {row} has {int(lengths.max())} characters; at most "
                f"{limits.max_response_chars}",
                file=QUERIES_NAME,
                row=row,
                field="response",
            )
        end = offset + batch.num_rows
        chars[offset:end] = lengths
        for name in floats:
            numbers[name][offset:end] = _float_column(batch, name, offset, QUERIES_NAME, Q)
        if optional:
            _check_optional({name: numbers[name][offset:end] for name in floats}, offset)
        offset = end
    if offset < rows:  # fewer rows than declared: keep what is there
        chars = chars[:offset].copy()
        numbers = {name: values[:offset].copy() for name, values in numbers.items()}
    release_unused()
    return QueryColumns(
        ids=IdColumn(pa.chunked_array(ids, pa.string())),
        response_chars=chars,
        numbers=numbers,
    )


def _check_types(handle: pq.ParquetFile, optional: tuple[Column, ...]) -> None:
    schema = handle.schema_arrow
    for column in optional:
        if schema.names.count(column.name) > 1:
            raise BundleError(
                Q["schema"],
                f"column {column.name!r} appears twice",
                file=QUERIES_NAME,
                field=column.name,
            )
        actual = schema.field(column.name).type
        if actual not in _COMPATIBLE[column.type] and not pa.types.is_null(actual):
            raise BundleError(
                Q["schema"],
                f"optional column {column.name!r} is {actual}; expected {column.type}",
                file=QUERIES_NAME,
                field=column.name,
            )


def _optional_error(code: str, name: str, row: int, message: str) -> BundleError:
    return BundleError(code, message, file=QUERIES_NAME, row=row, field=name)


def _check_optional(batch: dict[str, np.ndarray], offset: int) -> None:
    """The optional columns' rules, on one batch (NaN is null: unknown, allowed)."""
    for name in OPTIONAL_QUERY_NAMES:
        values = batch.get(name)
        if values is None:
            continue
        bad = np.nan_to_num(values, nan=0.0) < 0
        if name == "gpu_utilization_pct":
            bad |= np.nan_to_num(values, nan=0.0) > 100
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _optional_error(
                OPTIONAL_INVALID,
                name,
                offset + row,
                f"{name} is {values[row]} at row {offset + row}; it must be >= 0"
                + (" and <= 100" if name == "gpu_utilization_pct" else ""),
            )
    reasoning = batch.get("reasoning_tokens")
    if reasoning is not None:
        above = np.nan_to_num(reasoning, nan=0.0) > np.nan_to_num(
            batch["output_tokens"], nan=np.inf
        )
        if above.any():
            row = int(np.flatnonzero(above)[0])
            raise _optional_error(
                OPTIONAL_INVALID,
                "reasoning_tokens",
                offset + row,
                f"reasoning_tokens {reasoning[row]:.0f} exceed output_tokens "
                f"{batch['output_tokens'][row]:.0f} at row {offset + row}: output_tokens must "
                "include the reasoning",
            )
    phases = [batch[n] for n in ("prefill_energy_j", "decode_energy_j") if n in batch]
    if phases:
        spent = np.sum([np.nan_to_num(p, nan=0.0) for p in phases], axis=0)
        energy = batch["energy_j"]
        limit = np.nan_to_num(energy, nan=np.inf) * (1 + PHASE_ENERGY_TOLERANCE)
        over = spent > limit + PHASE_ENERGY_SLACK_J
        if over.any():
            row = int(np.flatnonzero(over)[0])
            raise _optional_error(
                PHASE_ENERGY,
                "prefill_energy_j",
                offset + row,
                f"prefill + decode energy (prefill_energy_j + decode_energy_j) is "
                f"{spent[row]:.4g} J at row {offset + row} but the query's energy_j is "
                f"{energy[row]:.4g} J: a phase cannot cost more than the query (allowance "
                f"{PHASE_ENERGY_TOLERANCE:.0%})",
            )


def release_unused() -> None:
    """Hand Arrow's freed buffers back to the OS (its allocator keeps them otherwise)."""
    pa.default_memory_pool().release_unused()


def iter_responses(path: Source, limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[str, str]]:
    """(query_id, response) for every row, in file order, one batch in memory at a time."""
    handle = pq.ParquetFile(path, pre_buffer=False)
    for batch in handle.iter_batches(
        batch_size=limits.batch_rows, columns=["query_id", "response"]
    ):
        yield from zip(
            batch.column("query_id").to_pylist(), batch.column("response").to_pylist(), strict=True
        )


def iter_response_batches(path: Source, limits: Limits = DEFAULT_LIMITS) -> Iterator[pa.Array]:
    """The response column in file order, one batch (``limits.batch_rows``) at a time, as Arrow
    strings: the scorer reads them column-wise and the per-query file keeps them as they are, so
    no response becomes a Python string unless a per-row scorer needs it."""
    handle = pq.ParquetFile(path, pre_buffer=False)
    for batch in handle.iter_batches(batch_size=limits.batch_rows, columns=["response"]):
        yield pc.cast(batch.column("response"), pa.string())


class TraceBatch(NamedTuple):
    timestamp_ns: np.ndarray  # int64
    power_w: np.ndarray  # float64, NaN where null
    energy_j: np.ndarray  # float64, NaN where null


class TraceReader:
    """An opened, schema-checked trace.parquet; ``batches()`` streams it."""

    def __init__(self, path: Source, limits: Limits = DEFAULT_LIMITS) -> None:
        # Opened eagerly so a bad file fails here, not at the first batch.
        self.handle = open_parquet(path, TRACE_COLUMNS, TRACE_NAME, limits.max_trace_samples, T)
        self.rows: int = self.handle.metadata.num_rows
        self.limits = limits

    def batches(self) -> Iterator[TraceBatch]:
        offset = 0
        names = list(TRACE_SCHEMA.names)
        for batch in self.handle.iter_batches(batch_size=self.limits.batch_rows, columns=names):
            _require_non_null(batch, "timestamp_ns", offset, TRACE_NAME, T)
            stamps = pc.cast(batch.column("timestamp_ns"), pa.int64())
            # NaN power and energy are judged by the telemetry checks (a few bad samples pass).
            power = pc.cast(batch.column("power_w"), pa.float64())
            energy = pc.cast(batch.column("energy_j"), pa.float64())
            yield TraceBatch(
                np.asarray(stamps.to_numpy(zero_copy_only=False), dtype=np.int64),
                np.asarray(power.to_numpy(zero_copy_only=False), dtype=np.float64),
                np.asarray(energy.to_numpy(zero_copy_only=False), dtype=np.float64),
            )
            offset += batch.num_rows
        release_unused()


def iter_trace(path: Source, limits: Limits = DEFAULT_LIMITS) -> Iterator[TraceBatch]:
    return TraceReader(path, limits).batches()
