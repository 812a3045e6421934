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
from evaluator.bundle.tables import TRACE_SCHEMA
from evaluator.catalog import Catalog, load_catalog
from evaluator.errors import BundleError, register
from evaluator.harness import agentic, claims, detect, profile
from evaluator.harness.rows import ROW_INVALID, queries_table, query_rows
from evaluator.harness_report import SOURCE, ImportReport, quirks_for
from evaluator.manifest import FORMAT_VERSION, parse_time, validate_manifest
from evaluator.measurement_classes import basis_fits, default_basis
from evaluator.system_info import public_system
from evaluator.types import Dataset

__all__ = ["ROW_INVALID", "SOURCE", "ImportReport", "import_ipw_run"]

NVML_PERIOD_S = 0.05  # the harness's energy monitor streams one reading every 50 ms

HARDWARE_GENERIC = register(
    "harness.hardware.generic",
    "The run's hardware label names no chip (e.g. 'GPU' on every Mac): name it with --hardware.",
)
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


def _refuse_generic_hardware(manifest: dict[str, Any], catalog: Catalog) -> None:
    """Refuse a hardware label that names no chip.

    The harness labels every Apple machine "GPU" and its macOS monitor reports no chip name, so
    all Macs would share one row: such a run must say which chip it ran on (``--hardware``, i.e.
    ``hardware.accelerator``). A name the catalog does not know is kept as written; the server
    holds it for staff to map.
    """
    hardware = manifest["hardware"]
    # The names stay as the harness (or --hardware) wrote them: the server resolves them again
    # with its own catalog, and the raw device name is evidence worth keeping.
    match = catalog.resolve_hardware(hardware.get("accelerator"), hardware.get("label"))
    if match.entry is None and match.generic is not None:
        choices = catalog.accelerators_of(match.generic.vendor)
        listed = ", ".join(entry.name for entry in choices[:60])
        raise BundleError(
            HARDWARE_GENERIC,
            f"the run's hardware is labelled {hardware.get('label')!r} "
            f"({hardware.get('accelerator')!r}), which names no chip ({match.generic.why}). "
            f"Pack with --hardware NAME, one of the catalog's "
            f"{match.generic.vendor or 'known'} entries: {listed}",
            file="summary.json",
            field="hardware_label",
        )


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


def _read_summary(run_dir: Path) -> dict[str, Any]:
    try:
        summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(
            RUN_INVALID, f"cannot read summary.json: {exc}", file="summary.json"
        ) from exc
    if not isinstance(summary, dict):
        raise BundleError(RUN_INVALID, "summary.json is not an object", file="summary.json")
    return summary


def _agentic_model(summary: Mapping[str, Any], overrides: Mapping[str, Any]) -> str:
    config = summary.get("config") or summary.get("profiler_config") or {}
    model = _get(overrides, "model", "id") or summary.get("model") or config.get("model")
    if not model:
        raise BundleError(
            MODEL_NOT_FOUND,
            "summary.json names no model (config.model); give it with --set model.id=NAME",
            file="summary.json",
            field="config.model",
        )
    return str(model)


def _devices(summary: Mapping[str, Any], first_metrics: Mapping[str, Any]) -> tuple[dict, dict]:
    """(gpu_info, system_info) from the summary, its ``hardware`` object or the first row."""
    gpu = dict(summary.get("gpu_info") or first_metrics.get("gpu_info") or {})
    system = dict(summary.get("system_info") or first_metrics.get("system_info") or {})
    hardware = summary.get("hardware") or _get(summary, "config", "hardware") or {}
    if isinstance(hardware, Mapping):  # newer summaries: {gpu_name, cpu_brand, platform}
        gpu.setdefault("name", hardware.get("gpu_name"))
        gpu.setdefault("backend", hardware.get("platform"))
        if hardware.get("cpu_brand"):
            system.setdefault("cpu_brand", hardware.get("cpu_brand"))
    return gpu, system


def _run_window(
    summary: Mapping[str, Any], latencies: list[float], report: ImportReport
) -> tuple[float, float]:
    """The harness's recorded start and end when it has them, else generated_at minus latencies."""
    try:
        start = parse_time(str(summary["start_time"]), "start_time")
        end = parse_time(str(summary["end_time"]), "end_time")
        if end >= start:
            report.window_estimated = False
            return start, end
    except (KeyError, BundleError):
        pass
    end = float(summary.get("generated_at") or datetime.now(UTC).timestamp())
    return end - float(sum(latencies)), end


def import_ipw_run(
    run_dir: Path,
    dataset: Dataset,
    *,
    trace: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    catalog: Catalog | None = None,
) -> tuple[dict[str, Any], pa.Table, pa.Table | None, ImportReport]:
    """Manifest, queries table, optional trace table and the report of what the import did.

    Reads both ``ipw profile`` generations (chained and in-window attribution) and agentic
    ``ipw run`` directories (``traces.jsonl``); ``harness.detect`` says which, the report says
    what was found."""
    run_dir = Path(run_dir)
    overrides = dict(overrides or {})
    report = ImportReport(run_dir=run_dir.name, has_trace=trace is not None)
    summary = _read_summary(run_dir)
    requested_basis = _get(overrides, "measurement", "basis")
    if detect.is_agentic(run_dir):
        rows, data = agentic.read_traces(run_dir, RUN_INVALID)
        run_digest = hashlib.sha256(data).hexdigest()
        report.generation, report.workload = "agentic", "agentic"
        report.generation_evidence = [f"{detect.TRACES} present"]
        report.shards = [detect.TRACES]
        model = report.model_key = _agentic_model(summary, overrides)
        ids = _match([agentic.as_match_row(task) for task in rows], dataset, report)
        first: Mapping[str, Any] = {}
        basis = str(requested_basis or "accelerator")
        report.basis_notes = [f"energy basis {basis!r} (task GPU energy)"]
        claimed, notes = claims.agentic_claims(summary, rows)
    else:
        rows, run_digest = _read_rows(run_dir, report)
        model = report.model_key = _model_key(rows, summary)
        report.generation, report.generation_evidence = detect.profile_generation(
            summary, rows, model
        )
        ids = _match(rows, dataset, report)
        first = _get(rows[0], "model_metrics", model) or {}
        gpu, system = _devices(summary, first)
        apple = (_measurement(gpu, system) or {}).get("method") == "powermetrics"
        basis, report.basis_notes = profile.choose_basis(rows, model, apple, requested_basis)
        claimed, notes, report.graded = claims.profile_claims(run_dir, rows, model, basis)
    report.rows = len(rows)
    report.energy_basis = basis
    report.notes += notes
    report.claimed = dict(claimed)
    columns = query_rows(rows, ids, model, dataset, report, basis)
    queries = queries_table(columns, report)

    energies = columns["energy_j"]
    if len(energies) > 1 and report.generation == "chained":
        report.first_query_model_load = {
            "query_id": ids[0],
            "energy_j": energies[0],
            "median_energy_j": statistics.median(energies),
        }
    gpu, system = _devices(summary, first)
    measurement = _measurement(gpu, system)
    if measurement is None and "measurement" not in overrides:
        raise BundleError(
            MEASUREMENT_UNKNOWN,
            f"telemetry backend {gpu.get('backend')!r} ({gpu.get('vendor')!r}) is not one the "
            "importer knows; give measurement {scope, method, sampling_period_s} as an override",
            file="summary.json",
            field="gpu_info",
        )
    measurement = dict(measurement or {})
    measurement["attribution"] = "chained" if report.generation == "chained" else "in_window"
    measurement["basis"] = basis
    start, end = _run_window(summary, list(columns["latency_s"]), report)
    # The bundle's created_at is the run's own time (when the harness wrote summary.json), not
    # the clock at packing: packing the same run twice gives byte-identical bundles.
    created = end
    trace_table = None
    if trace is not None:
        trace_table = conform(pq.read_table(trace), TRACE_SCHEMA)
        start, end = _trace_window(trace_table, start, end, report)
    config = summary.get("profiler_config") or summary.get("config") or {}
    version = _get(summary, "versions", "ipw")
    engine = summary.get("client") or config.get("client_id") or config.get("client")
    defaults = {
        "harness": {"name": "intelligence-per-watt", "version": str(version or "unknown")},
        "model": {
            "id": model,
            "revision": "unknown",
            "quantization": "unknown",
            "engine": str(engine or "unknown"),
            "engine_version": "unknown",
        },
    }
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        # Derived from the run's bytes: importing the same run twice gives the same run id, so
        # the server's replay check sees a resubmission for what it is.
        "run_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ipw-harness:{run_digest}:{model}")),
        "created_at": _rfc3339(created),
        "synthetic": False,
        "harness": dict(defaults["harness"]),
        "model": dict(defaults["model"]),
        "hardware": _hardware(summary, gpu),
        # Only OS and CPU: the harness also records the host name and its absolute output path,
        # which name a machine and a person and must not reach a public manifest.
        "system": public_system(system),
        "dataset": {"slug": dataset.slug, "version": dataset.version, "sha256": dataset.sha256},
        "measurement": measurement,
        "window": {"start": _rfc3339(start), "end": _rfc3339(end)},
        "challenge": None,
        # The harness's own grades and metrics: the submitter's claim, compared, never trusted.
        "claimed": claimed,
    }
    if report.generation == "agentic":
        agent = config.get("agent") or summary.get("agent")
        manifest["workload"] = {"kind": "agentic", **({"agent": str(agent)} if agent else {})}
    given = _flatten("", overrides)
    report.defaulted_fields = sorted(
        f"{section}.{key}"
        for section, values in defaults.items()
        for key, value in values.items()
        if value == "unknown" and f"{section}.{key}" not in given
    )
    _merge(manifest, overrides)
    chosen = manifest["measurement"]
    if not basis_fits(str(chosen.get("scope")), str(chosen.get("basis"))) and not requested_basis:
        # The submitter named the scope (e.g. a wall meter) but no basis: the scope's own rails.
        chosen["basis"] = report.energy_basis = default_basis(str(chosen.get("scope")))
    _refuse_generic_hardware(manifest, catalog or load_catalog())
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
