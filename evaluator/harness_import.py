"""Import a run directory written by the reference harness (``ipw profile``) into bundle tables.

The harness writes a HuggingFace ``save_to_disk`` shard (Arrow IPC stream) with one row per query
and a ``summary.json``; see tests/fixtures/README.md. Everything it does not record (model revision,
engine, quantization, per-query timestamps, a raw trace) is either supplied by ``overrides`` or
reported in the ImportReport, which travels in the manifest so the board can say what was imported
and how. Struct fields are read by name because their order depends on the writer's version.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from evaluator.bundle.pack import conform
from evaluator.bundle.tables import QUERY_SCHEMA, TRACE_SCHEMA
from evaluator.errors import BundleError, register
from evaluator.harness_report import SOURCE, ImportReport, quirks_for
from evaluator.manifest import FORMAT_VERSION, validate_manifest
from evaluator.types import Dataset

__all__ = ["SOURCE", "ImportReport", "import_ipw_run"]

NVML_PERIOD_S = 0.05  # the harness's energy monitor streams one reading every 50 ms

RUN_INVALID = register("harness.run.invalid", "The run directory is not a readable harness run.")
MODEL_NOT_FOUND = register(
    "harness.model.not_found", "The run's model_metrics do not name the model to import."
)
ITEM_UNMATCHED = register(
    "harness.item.unmatched", "A run row matches no dataset item by metadata id or prompt text."
)
ITEM_DUPLICATE = register("harness.item.duplicate", "Two run rows answer the same dataset item.")
RUN_INCOMPLETE = register(
    "harness.run.incomplete", "The run lacks some of the dataset's items; run the whole workload."
)
ROW_INVALID = register("harness.row.invalid", "A run row lacks its latency.")
ENERGY_MISSING = register(
    "harness.energy.missing", "A run row has neither energy nor average power to estimate it."
)
MEASUREMENT_UNKNOWN = register(
    "harness.measurement.unknown",
    "The telemetry backend is not recognised; pass the measurement block as an override.",
)


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _walk_types(prefix: str, kind: pa.DataType, nulls: list[str], empties: list[str]) -> None:
    if pa.types.is_null(kind):
        nulls.append(prefix)
    elif pa.types.is_struct(kind):
        if kind.num_fields == 0:
            empties.append(prefix)
        for index in range(kind.num_fields):
            child = kind.field(index)
            _walk_types(f"{prefix}.{child.name}", child.type, nulls, empties)


def _read_rows(run_dir: Path, report: ImportReport) -> tuple[list[dict[str, Any]], str]:
    shards = sorted(run_dir.glob("data-*.arrow"))
    if not shards:
        raise BundleError(RUN_INVALID, f"no data-*.arrow shard in {run_dir}", file=str(run_dir))
    rows: list[dict[str, Any]] = []
    digest = hashlib.sha256()
    for shard in shards:
        digest.update(shard.read_bytes())
        try:
            with pa.memory_map(str(shard)) as source:
                try:
                    table = ipc.open_stream(source).read_all()
                except pa.ArrowInvalid:  # older writers used the IPC file format
                    table = ipc.open_file(source).read_all()
        except (pa.ArrowException, OSError) as exc:
            raise BundleError(
                RUN_INVALID, f"cannot read {shard.name}: {exc}", file=shard.name
            ) from exc
        for column in table.schema:
            _walk_types(
                column.name, column.type, report.null_typed_columns, report.empty_struct_columns
            )
        # Struct values become dicts keyed by field name: field order no longer matters.
        rows.extend(table.to_pylist())
        report.shards.append(shard.name)
    report.null_typed_columns = sorted(set(report.null_typed_columns))
    report.empty_struct_columns = sorted(set(report.empty_struct_columns))
    return rows, digest.hexdigest()


def _model_key(rows: list[dict[str, Any]], summary: Mapping[str, Any]) -> str:
    keys: set[str] = set()
    for row in rows:
        keys.update((row.get("model_metrics") or {}).keys())
    wanted = summary.get("model")
    if isinstance(wanted, str) and wanted in keys:
        return wanted
    if len(keys) == 1:
        return keys.pop()
    raise BundleError(
        MODEL_NOT_FOUND,
        f"summary.json names model {wanted!r} but model_metrics hold {sorted(keys) or 'nothing'}",
        file="summary.json",
        field="model",
    )


def _metadata_id(row: Mapping[str, Any]) -> str | None:
    meta: Any = row.get("dataset_metadata")
    if isinstance(meta, Mapping):  # the whole input row as a struct, its metadata a JSON string
        meta = meta.get("dataset_metadata", meta)
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            return None
    value = meta.get("id") if isinstance(meta, Mapping) else None
    return str(value) if value is not None else None


def _match(rows: list[dict[str, Any]], dataset: Dataset, report: ImportReport) -> list[str]:
    ids = set(dataset.ids())
    by_prompt: dict[str, str | None] = {}
    for item in dataset.items:  # a prompt used twice cannot identify an item
        by_prompt[item.prompt] = None if item.prompt in by_prompt else item.id
    matched: list[str] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        query_id = _metadata_id(row)
        if query_id in ids:
            report.matched_by_id += 1
        else:
            query_id = by_prompt.get(row.get("problem") or "")
            if query_id is None:
                raise BundleError(
                    ITEM_UNMATCHED,
                    f"row {index} matches no item of {dataset.slug} {dataset.version} by "
                    "metadata id or prompt text: was the run made on another dataset?",
                    row=index,
                )
            report.matched_by_prompt += 1
        if query_id in seen:
            raise BundleError(
                ITEM_DUPLICATE,
                f"rows {seen[query_id]} and {index} both answer item {query_id!r}",
                row=index,
            )
        seen[query_id] = index
        matched.append(query_id)
    missing = [item_id for item_id in dataset.ids() if item_id not in seen]
    if missing:
        raise BundleError(
            RUN_INCOMPLETE,
            f"{len(missing)} of {len(ids)} dataset items have no row, e.g. "
            f"{', '.join(missing[:5])}",
        )
    return matched


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _query_rows(
    rows: list[dict[str, Any]],
    ids: list[str],
    model: str,
    dataset: Dataset,
    report: ImportReport,
) -> dict[str, list[Any]]:
    references = {item.id: item.reference for item in dataset.items}
    out: dict[str, list[Any]] = {name: [] for name in QUERY_SCHEMA.names}
    for index, (row, query_id) in enumerate(zip(rows, ids, strict=True)):
        metrics = _get(row, "model_metrics", model) or {}
        latency = _float(_get(metrics, "latency_metrics", "total_query_seconds"))
        if latency is None:
            raise BundleError(
                ROW_INVALID,
                f"row {index} ({query_id}) has no latency_metrics.total_query_seconds",
                row=index,
                field="latency_metrics.total_query_seconds",
            )
        watts = _get(metrics, "power_metrics", "gpu", "per_query_watts") or {}
        energy = _float(_get(metrics, "energy_metrics", "per_query_joules"))
        if energy is None:
            if watts.get("avg") is None:
                raise BundleError(
                    ENERGY_MISSING,
                    f"row {index} ({query_id}) has no per_query_joules and no average power",
                    row=index,
                    field="energy_metrics.per_query_joules",
                )
            energy = float(watts["avg"]) * latency
            report.energy_none.append(query_id)
        elif energy == 0:
            report.energy_zero.append(query_id)
        response = metrics.get("lm_response")
        if response is None:
            response = _get(row, "model_answers", model)
        if response is None:
            report.response_missing.append(query_id)
            response = ""
        reference, ours = row.get("answer"), references.get(query_id)
        if reference is not None and ours is not None and str(reference).strip() != ours.strip():
            report.reference_mismatches.append(query_id)
        tokens = metrics.get("token_metrics") or {}
        values = {
            "query_id": query_id,
            "response": str(response),
            "input_tokens": _int(tokens.get("input")),
            "output_tokens": _int(tokens.get("output")),
            "ttft_s": _float(_get(metrics, "latency_metrics", "time_to_first_token_seconds")),
            "latency_s": latency,
            "energy_j": energy,
            "power_avg_w": _float(watts.get("avg")),
            "power_max_w": _float(watts.get("max")),
            "power_min_w": _float(watts.get("min")),
            "power_median_w": _float(watts.get("median")),
            "started_at": None,  # the harness records durations, not instants
            "ended_at": None,
        }
        for name, value in values.items():
            out[name].append(value)
    return out


def _measurement(gpu: Mapping[str, Any], system: Mapping[str, Any]) -> dict[str, Any] | None:
    text = " ".join(str(v) for v in (gpu.get("backend"), gpu.get("vendor"), gpu.get("name")))
    os_name = str(system.get("os_name") or "")
    if re.search(r"nvml|nvidia", text, re.IGNORECASE):
        return {
            "scope": "accelerator",
            "method": "nvml_counter",
            "sampling_period_s": NVML_PERIOD_S,
        }
    if re.search(r"apple|macos|darwin", text + " " + os_name, re.IGNORECASE):
        return {"scope": "soc", "method": "powermetrics", "sampling_period_s": NVML_PERIOD_S}
    return None


def _hardware(summary: Mapping[str, Any], gpu: Mapping[str, Any]) -> dict[str, Any]:
    name = str(gpu.get("name") or "").strip()
    count = 1
    found = re.match(r"^(.*?)\s+x(\d+)$", name)  # the harness appends " xN" for N devices
    if found:
        name, count = found.group(1), int(found.group(2))
    hardware: dict[str, Any] = {
        "label": str(summary.get("hardware_label") or name or "unknown"),
        "accelerator": name or "unknown",
        "vendor": str(gpu.get("vendor") or "unknown"),
        "count": max(count, 1),
        "class": "local",
    }
    memory = re.search(r"(\d+(?:\.\d+)?)\s*GB", name)
    if memory:
        hardware["memory_gb"] = float(memory.group(1))
    return hardware


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def _flatten(prefix: str, value: Any) -> set[str]:
    if isinstance(value, Mapping):
        return set().union(
            *(_flatten(f"{prefix}.{k}" if prefix else k, v) for k, v in value.items())
        )
    return {prefix}


def import_ipw_run(
    run_dir: Path,
    dataset: Dataset,
    *,
    trace: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], pa.Table, pa.Table | None, ImportReport]:
    """Manifest, queries table, optional trace table and the report of what the import did."""
    run_dir = Path(run_dir)
    overrides = dict(overrides or {})
    report = ImportReport(run_dir=run_dir.name, has_trace=trace is not None)
    try:
        summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(
            RUN_INVALID, f"cannot read summary.json: {exc}", file="summary.json"
        ) from exc
    rows, run_digest = _read_rows(run_dir, report)
    report.rows = len(rows)
    model = report.model_key = _model_key(rows, summary)
    ids = _match(rows, dataset, report)
    columns = _query_rows(rows, ids, model, dataset, report)
    queries = pa.table(columns, schema=QUERY_SCHEMA)

    energies = columns["energy_j"]
    if len(energies) > 1:
        median = statistics.median(energies)
        report.first_query_model_load = {
            "query_id": ids[0],
            "energy_j": energies[0],
            "median_energy_j": median,
        }
    gpu = summary.get("gpu_info") or _get(rows[0], "model_metrics", model, "gpu_info") or {}
    system = summary.get("system_info") or {}
    measurement = _measurement(gpu, system)
    if measurement is None and "measurement" not in overrides:
        raise BundleError(
            MEASUREMENT_UNKNOWN,
            f"telemetry backend {gpu.get('backend')!r} ({gpu.get('vendor')!r}) is not one the "
            "importer knows; give measurement {scope, method, sampling_period_s} as an override",
            file="summary.json",
            field="gpu_info",
        )
    end = float(summary.get("generated_at") or datetime.now(UTC).timestamp())
    start = end - float(sum(columns["latency_s"]))
    trace_table = None
    if trace is not None:
        trace_table = conform(pq.read_table(trace), TRACE_SCHEMA)
        start, end = _trace_window(trace_table, start, end, report)
    defaults = {
        "harness": {"name": "intelligence-per-watt", "version": "unknown"},
        "model": {
            "id": model,
            "revision": "unknown",
            "quantization": "unknown",
            "engine": "unknown",
            "engine_version": "unknown",
        },
    }
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        # Derived from the run's bytes: importing the same run twice gives the same run id, so
        # the server's replay check sees a resubmission for what it is.
        "run_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ipw-harness:{run_digest}:{model}")),
        "created_at": _rfc3339(datetime.now(UTC).timestamp()),
        "synthetic": False,
        "harness": dict(defaults["harness"]),
        "model": dict(defaults["model"]),
        "hardware": _hardware(summary, gpu),
        "system": dict(system),
        "dataset": {"slug": dataset.slug, "version": dataset.version, "sha256": dataset.sha256},
        "measurement": measurement or {},
        "window": {"start": _rfc3339(start), "end": _rfc3339(end)},
        "challenge": None,
        "claimed": {},  # the harness grades nothing, so it claims nothing
    }
    given = _flatten("", overrides)
    report.defaulted_fields = sorted(
        f"{section}.{key}"
        for section, values in defaults.items()
        for key, value in values.items()
        if value == "unknown" and f"{section}.{key}" not in given
    )
    _merge(manifest, overrides)
    report.quirks = quirks_for(report, len(rows))
    manifest["import"] = report.to_dict()
    validate_manifest(manifest)
    return manifest, queries, trace_table, report


def _trace_window(
    trace: pa.Table, start: float, end: float, report: ImportReport
) -> tuple[float, float]:
    """The run window given a recorded trace: its span intersected with the harness estimate.

    The harness records no instants, only ``generated_at`` (when it wrote summary.json) and the
    latencies, whose sum is shorter than the run (gaps, model load). A trace recorded beside the
    run bounds it from the other side; where the two overlap is the best window there is. With no
    overlap the estimate is kept, and the coverage check will say the trace is from another time.
    """
    if trace.num_rows == 0:
        return start, end
    bounds = pc.min_max(trace.column("timestamp_ns"))
    first, last = bounds["min"].as_py() / 1e9, bounds["max"].as_py() / 1e9
    report.trace_span = {"start": _rfc3339(first), "end": _rfc3339(last), "rows": trace.num_rows}
    low, high = max(start, first), min(end, last)
    if high <= low:
        return start, end
    report.window_from_trace = True
    return low, high
