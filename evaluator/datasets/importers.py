"""Importers: the reference harness's dataset formats -> canonical dataset items.

The harness's rows carry ``problem``, ``answer``, ``subject`` and ``dataset_metadata`` (a JSON string
with ``id``, ``task_type``, ``evaluation_method``, ``options``, ``tolerance``, ``reference_answer``,
``rubric`` ...). Three containers hold them: JSONL, a HuggingFace ``save_to_disk`` directory (arrow
IPC *stream* shards) and Parquet. Rows are read by field name, one at a time, so struct field order,
null-typed columns and empty ``struct<>`` columns (all seen in the wild) do not matter. In a harness
*run* directory ``dataset_metadata`` is the whole input row as a struct; that shape is accepted too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from evaluator.datasets.canonical import DatasetMeta, canonical_sha256
from evaluator.datasets.validate import DUPLICATE_ID, FILE_INVALID, IMPORT_INVALID, item_from_json
from evaluator.errors import BundleError
from evaluator.types import Dataset, DatasetItem

_METHOD_ALIASES = {
    "letter_match": "letter_match",
    "multiple_choice": "letter_match",
    "mcq": "letter_match",
    "numeric_match": "numeric_match",
    "numeric": "numeric_match",
    "exact_match": "exact_match",
    "exact": "exact_match",
    "llm_judge": "llm_judge",
    "open_ended": "llm_judge",
}


def _metadata(
    row: Mapping[str, Any], where: str, row_no: int
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """(the row's own fields, the parsed dataset_metadata)."""
    raw = row.get("dataset_metadata")
    fields: Mapping[str, Any] = row
    if isinstance(raw, Mapping):
        # Run directory: the input row nested as a struct; its fields fill the gaps.
        fields = {
            **raw,
            **{k: v for k, v in row.items() if v is not None and k != "dataset_metadata"},
        }
        raw = raw.get("dataset_metadata")
    if raw is None or raw == "":
        return fields, {}
    if isinstance(raw, Mapping):
        return fields, dict(raw)
    try:
        meta = json.loads(raw)
    except (TypeError, json.JSONDecodeError) as exc:
        raise BundleError(
            IMPORT_INVALID, "dataset_metadata is not valid JSON", where, row_no, "dataset_metadata"
        ) from exc
    if not isinstance(meta, dict):
        raise BundleError(
            IMPORT_INVALID,
            "dataset_metadata is not a JSON object",
            where,
            row_no,
            "dataset_metadata",
        )
    return fields, meta


def item_from_harness_row(row: Mapping[str, Any], *, where: str, row_no: int) -> DatasetItem:
    fields, meta = _metadata(row, where, row_no)
    prompt = fields.get("problem")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BundleError(IMPORT_INVALID, "row has no problem text", where, row_no, "problem")
    declared = meta.get("evaluation_method") or meta.get("task_type")
    method = _METHOD_ALIASES.get(str(declared)) if declared else None
    if method is None:
        raise BundleError(
            IMPORT_INVALID,
            f"unknown evaluation method {declared!r}",
            where,
            row_no,
            "evaluation_method",
        )
    answer = fields.get("answer")
    params: dict[str, Any] = {}
    if method == "letter_match":
        reference = meta.get("correct_option") or answer
        params["options"] = meta.get("options")
    elif method == "numeric_match":
        reference = answer if answer not in (None, "") else meta.get("reference_answer")
        for key in ("tolerance", "answer_type"):
            if meta.get(key) is not None:
                params[key] = meta[key]
    elif method == "llm_judge":
        reference = meta.get("reference_answer") or answer
        if meta.get("rubric"):
            params["rubric"] = meta["rubric"]
    else:
        reference = answer
        if meta.get("aliases"):
            params["aliases"] = meta["aliases"]
    for key, source in (
        ("category", fields.get("anthropic_index_category")),
        ("source_dataset", meta.get("source_dataset")),
    ):
        if isinstance(source, str) and source:
            params[key] = source
    item_id = meta.get("id")
    if not item_id:
        # No id in the metadata: the prompt text identifies the item (that is how run rows match).
        item_id = "q-" + hashlib.sha256(prompt.encode()).hexdigest()[:16]
    domain = fields.get("subject") or fields.get("anthropic_index_category") or "general"
    obj = {
        "id": str(item_id),
        "prompt": prompt,
        "reference": None if reference is None else str(reference),
        "domain": str(domain),
        "method": method,
        "params": params,
    }
    return item_from_json(obj, where=where, row=row_no, references="public")


def _collect(rows: Iterable[tuple[int, Mapping[str, Any]]], where: str) -> tuple[DatasetItem, ...]:
    items: list[DatasetItem] = []
    seen: dict[str, int] = {}
    for row_no, row in rows:
        item = item_from_harness_row(row, where=where, row_no=row_no)
        if item.id in seen:
            raise BundleError(
                DUPLICATE_ID,
                f"id {item.id!r} already used by row {seen[item.id]}",
                where,
                row_no,
                "id",
            )
        seen[item.id] = row_no
        items.append(item)
    if not items:
        raise BundleError(FILE_INVALID, "no rows to import", where)
    return tuple(items)


def _dataset(
    items: tuple[DatasetItem, ...],
    slug: str,
    version: str,
    license: str,
    description: str,
    source: str | None,
) -> Dataset:
    # The checksum is the one the canonical file written with the same header will have:
    # write_dataset(path, DatasetMeta(slug, version, license, description, "public", source), items).
    meta = DatasetMeta(slug, version, license, description, "public", source)
    return Dataset(slug=slug, version=version, sha256=canonical_sha256(meta, items), items=items)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    where = str(path)
    with Path(path).open("rb") as fh:
        for row_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise BundleError(
                    FILE_INVALID, f"line is not valid JSON: {exc}", where, row_no
                ) from exc
            if not isinstance(row, dict):
                raise BundleError(IMPORT_INVALID, "line is not a JSON object", where, row_no)
            yield row_no, row


def import_harness_jsonl(
    path: Path,
    slug: str,
    version: str,
    *,
    license: str = "unspecified",
    description: str = "",
    source: str | None = None,
) -> Dataset:
    """The harness's JSONL workload (row numbers in errors are line numbers).

    The returned ``Dataset.sha256`` is that of the canonical file ``write_dataset`` writes with the
    header ``DatasetMeta(slug, version, license, description, "public", source)``.
    """
    items = _collect(_jsonl_rows(path), str(path))
    return _dataset(items, slug, version, license, description, source)


def _arrow_rows(directory: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    directory = Path(directory)
    state = directory / "state.json"
    if state.exists():
        names = [f["filename"] for f in json.loads(state.read_text())["_data_files"]]
    else:
        names = sorted(p.name for p in directory.glob("data-*.arrow"))
    if not names:
        raise BundleError(
            FILE_INVALID, "no arrow shards (data-*.arrow) in the directory", str(directory)
        )
    row_no = 0
    for name in names:
        shard = directory / name
        try:
            with pa.memory_map(str(shard)) as source:
                reader = ipc.open_stream(source)
                for batch in reader:
                    for row in batch.to_pylist():
                        row_no += 1
                        yield row_no, row
        except (pa.ArrowInvalid, OSError) as exc:
            raise BundleError(
                FILE_INVALID, f"cannot read arrow stream shard: {exc}", str(shard)
            ) from exc


def import_hf_dir(
    directory: Path,
    slug: str,
    version: str,
    *,
    license: str = "unspecified",
    description: str = "",
    source: str | None = None,
) -> Dataset:
    """A HuggingFace ``save_to_disk`` directory (rows numbered from 1 across shards).

    The returned ``Dataset.sha256`` is that of the canonical file ``write_dataset`` writes with the
    header ``DatasetMeta(slug, version, license, description, "public", source)``.
    """
    items = _collect(_arrow_rows(directory), str(directory))
    return _dataset(items, slug, version, license, description, source)


def _parquet_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise BundleError(FILE_INVALID, f"cannot read parquet file: {exc}", str(path)) from exc
    row_no = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            row_no += 1
            yield row_no, row


def import_parquet(
    path: Path,
    slug: str,
    version: str,
    *,
    license: str = "unspecified",
    description: str = "",
    source: str | None = None,
) -> Dataset:
    """A Parquet file with the harness's columns.

    The returned ``Dataset.sha256`` is that of the canonical file ``write_dataset`` writes with the
    header ``DatasetMeta(slug, version, license, description, "public", source)``.
    """
    items = _collect(_parquet_rows(path), str(path))
    return _dataset(items, slug, version, license, description, source)
