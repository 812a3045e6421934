"""Open data: whole-board exports (CSV, JSON, Parquet), dataset files and per-submission results.

Files are built in a temporary directory, stored (local or S3) under a fresh generation prefix,
and only then published by rewriting ``exports/manifest.json``: a reader never sees half a file.
The manifest lists every file's size and SHA-256 and is itself a public download.

A receiver on ``submissions.signals.board_changed`` schedules a rebuild on the ``exports`` queue,
debounced so a burst of scorings builds once.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.dispatch import receiver

from submissions.models import DatasetVersion, Evaluation, Submission
from submissions.services.perquery import open_items
from submissions.signals import board_changed
from submissions.storage import save_stream

from . import columns
from .exports_columns import Column, arrow_schema, board_columns
from .queries import ranked_submissions

log = logging.getLogger(__name__)

MANIFEST = "exports/manifest.json"
MANIFEST_CACHE_KEY = "exports:manifest"
SCHEDULED_KEY = "exports:scheduled"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000


# --- helpers ------------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """Defuse spreadsheet formula injection: text cells starting with = + - @ TAB CR get a '."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _file_info(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def _store(local: Path, name: str) -> dict[str, Any]:
    info = _file_info(local)
    with local.open("rb") as fh:
        stored = save_stream(name, fh)
    return {"name": stored, **info}


# --- the board ----------------------------------------------------------------------------------


def board_tuples() -> Iterator[tuple[Any, ...]]:
    """Every ranked (public) submission's current evaluation, in ``board_columns()`` order,
    streamed."""
    registry = columns.on("export")
    read = [c for c in registry if c.source]
    qs = (
        Evaluation.objects.filter(ranked_submissions())
        .order_by("-ipw", "pk")
        .values_list(*(c.source for c in read))
    )
    # Registry types the exports write as text: a UUID as itself, a list ';'-joined.
    texts = [i for i, c in enumerate(read) if c.type == "uuid"]
    lists = [i for i, c in enumerate(read) if c.type == "list"]
    # Computed columns (the permalink) read the row's other values by name.
    names = [c.key for c in read]
    computed = [(i, f) for i, c in enumerate(registry) if (f := c.compute) is not None]
    for values in qs.iterator(chunk_size=BATCH):
        row = list(values)
        for i in texts:
            row[i] = str(row[i])
        for i in lists:
            row[i] = ";".join(row[i] or [])
        if computed:
            named = dict(zip(names, row, strict=True))
            for i, compute in computed:
                row.insert(i, compute(named))
        yield tuple(row)


def board_rows() -> Iterator[dict[str, Any]]:
    names = [c.name for c in board_columns()]
    for values in board_tuples():
        yield dict(zip(names, values, strict=True))


def _text(value: Any) -> Any:
    if value is None:
        return ""
    return "'" + value if value[:1] in FORMULA_PREFIXES and value else value


def _number(value: Any) -> Any:
    return "" if value is None else value


def _bool(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def _timestamp(value: Any) -> str:
    return "" if value is None else value.isoformat()


_CELL = {"string": _text, "float": _number, "int": _number, "bool": _bool, "timestamp": _timestamp}


def write_csv(rows: Iterable[dict[str, Any]], out: Path, columns: tuple[Column, ...]) -> int:
    return write_csv_tuples(([row[c.name] for c in columns] for row in rows), out, columns)


def write_csv_tuples(rows: Iterable[Any], out: Path, columns: tuple[Column, ...]) -> int:
    count = 0
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.name for c in columns])
        cells = [_CELL[c.type] for c in columns]  # one converter per column, chosen once
        for values in rows:
            writer.writerow([cell(v) for cell, v in zip(cells, values, strict=True)])
            count += 1
    return count


def write_json(rows: Iterable[dict[str, Any]], out: Path) -> None:
    """A JSON array of objects (``pandas.read_json`` loads it), written row by row."""
    with out.open("w", encoding="utf-8") as fh:
        fh.write("[")
        for index, row in enumerate(rows):
            fh.write(",\n" if index else "\n")
            json.dump(row, fh, default=_json_default, ensure_ascii=False)
        fh.write("\n]\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def write_parquet(
    rows: Iterable[dict[str, Any]], out: Path, columns: tuple[Column, ...], schema: pa.Schema
) -> None:
    """Parquet in row groups of BATCH rows: loads with pandas, pyarrow and HF ``datasets``."""
    with pq.ParquetWriter(out, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))


def build_board_csv(out: Path) -> int:
    """The full-board CSV (the benchmark times this one)."""
    return write_csv_tuples(board_tuples(), out, board_columns())


def data_dictionary() -> list[dict[str, str]]:
    return [c.to_dict() for c in board_columns()]


# --- datasets -----------------------------------------------------------------------------------

DATASET_SCHEMA_PUBLIC = pa.schema(
    [
        ("id", pa.string()),
        ("position", pa.int64()),
        ("domain", pa.string()),
        ("method", pa.string()),
        ("prompt", pa.string()),
        ("reference", pa.string()),
    ]
)
DATASET_SCHEMA_PROMPTS = pa.schema([f for f in DATASET_SCHEMA_PUBLIC if f.name != "reference"])


def dataset_rows(version: DatasetVersion) -> Iterator[dict[str, Any]]:
    """Prompts, and references only when the version's references are public. Read from the
    version's items file (``evaluator.itemfile``, never with private references), never from
    ``private_file``."""
    fields = ["id", "position", "domain", "method", "prompt"]
    if not version.references_private:
        fields.append("reference")
    if not version.items_file:
        return
    for batch in open_items(version.items_file.name).iter_batches(fields):
        for row in batch.to_pylist():
            if "reference" in row and row["reference"] is None:
                row["reference"] = ""  # as the mirrored rows had it
            yield row


def build_dataset_files(version: DatasetVersion, tmp: Path, prefix: str) -> dict[str, Any]:
    schema = DATASET_SCHEMA_PROMPTS if version.references_private else DATASET_SCHEMA_PUBLIC
    base = f"{version.dataset.slug}-{version.version}"
    jsonl = tmp / f"{base}.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for row in dataset_rows(version):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    parquet = tmp / f"{base}.parquet"
    columns = tuple(Column(f.name, "", "string", "", "") for f in schema)
    write_parquet(dataset_rows(version), parquet, columns, schema)
    return {
        "slug": version.dataset.slug,
        "version": version.version,
        "sha256": version.sha256,
        "references_public": not version.references_private,
        "files": {
            "jsonl": _store(jsonl, f"{prefix}/{base}.jsonl"),
            "parquet": _store(parquet, f"{prefix}/{base}.parquet"),
        },
    }


# --- the whole set ------------------------------------------------------------------------------


def read_manifest() -> dict[str, Any] | None:
    cached = cache.get(MANIFEST_CACHE_KEY)
    if cached is not None:
        return cached
    try:
        with default_storage.open(MANIFEST, "rb") as fh:
            manifest = json.loads(fh.read())
    except (FileNotFoundError, OSError, ValueError):
        return None
    except Exception:  # S3 "not found" surfaces as a botocore ClientError
        log.debug("no export manifest yet", exc_info=True)
        return None
    cache.set(MANIFEST_CACHE_KEY, manifest, timeout=60)
    return manifest


def regenerate_exports() -> dict[str, Any]:
    """Build every board export and publish a new manifest. Safe to run twice."""
    generation = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    prefix = f"exports/board/{generation}"
    previous = read_manifest() or {}
    with TemporaryDirectory(prefix="ipwboard-export-") as tmp_name:
        tmp = Path(tmp_name)
        count = build_board_csv(tmp / "board.csv")
        write_json(board_rows(), tmp / "board.json")
        write_parquet(board_rows(), tmp / "board.parquet", board_columns(), arrow_schema())
        (tmp / "data-dictionary.json").write_text(json.dumps(data_dictionary(), indent=2))
        files = {
            fmt: _store(tmp / f"board.{fmt}", f"{prefix}/board.{fmt}")
            for fmt in ("csv", "json", "parquet")
        }
        files["dictionary"] = _store(tmp / "data-dictionary.json", f"{prefix}/data-dictionary.json")
        datasets = _dataset_entries(previous, tmp)
    synthetic = Evaluation.objects.filter(ranked_submissions(), submission__synthetic=True).count()
    manifest = {
        "generated_at": datetime.now(UTC).isoformat(),
        "generation": generation,
        "row_count": count,
        "synthetic_rows": synthetic,
        "files": files,
        "datasets": datasets,
    }
    _publish(manifest, previous)
    return manifest


def _dataset_entries(previous: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Dataset versions are immutable: reuse files already built (keyed by SHA-256)."""
    old = previous.get("datasets") or {}
    entries = {}
    for version in DatasetVersion.objects.select_related("dataset"):
        entry = old.get(version.sha256)
        if (
            entry is None
            # staff may turn references private after the fact: never reuse a public build then
            or entry.get("references_public") != (not version.references_private)
            or not default_storage.exists(entry["files"]["jsonl"]["name"])
        ):
            entry = build_dataset_files(version, tmp, f"exports/datasets/{version.sha256[:16]}")
        entries[version.sha256] = entry
    return entries


def _publish(manifest: dict[str, Any], previous: dict[str, Any]) -> None:
    if default_storage.exists(MANIFEST):
        default_storage.delete(MANIFEST)
    default_storage.save(MANIFEST, ContentFile(json.dumps(manifest, indent=2).encode()))
    cache.set(MANIFEST_CACHE_KEY, manifest, timeout=60)
    # Keep the previous generation (a reader may be following an old link); drop older ones.
    keep = {manifest["generation"], previous.get("generation")}
    try:
        generations, _ = default_storage.listdir("exports/board")
    except (FileNotFoundError, OSError):
        return
    for generation in generations:
        if generation not in keep:
            _delete_tree(f"exports/board/{generation}")


def _delete_tree(prefix: str) -> None:
    dirs, files = default_storage.listdir(prefix)
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
    for sub in dirs:
        _delete_tree(f"{prefix}/{sub}")


# --- per-submission results ---------------------------------------------------------------------


def submission_queries_name(submission: Submission) -> str:
    """The per-query file of the current evaluation: written by the worker in the download's
    columns (``evaluator.perquery.SCHEMA``), so it is served as stored, never rebuilt."""
    evaluation = submission.current_evaluation
    return evaluation.queries_file.name if evaluation is not None else ""


# --- scheduling ---------------------------------------------------------------------------------


def schedule_exports() -> bool:
    """Enqueue one rebuild unless one is already pending (debounce); True if enqueued."""
    delay = settings.IPWBOARD_EXPORTS_DEBOUNCE_SECONDS
    # The flag lives as long as the countdown: a change after that schedules the next build.
    if not cache.add(SCHEDULED_KEY, 1, timeout=max(delay, 1)):
        return False
    from .tasks import regenerate_board_exports

    try:
        regenerate_board_exports.apply_async(countdown=delay)
    except Exception:  # broker down: the next change (or the downloads page) retries
        cache.delete(SCHEDULED_KEY)
        log.exception("could not enqueue the board export rebuild")
        return False
    return True


@receiver(board_changed, dispatch_uid="ipwboard.board.exports.on_board_changed")
def on_board_changed(sender: Any, **kwargs: Any) -> None:
    schedule_exports()
