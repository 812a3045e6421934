"""Per-query files in the storage backend: each evaluation's results and each dataset version's
items (layouts: ``evaluator.perquery``, ``evaluator.itemfile``).

Written once by a worker (or at registration) through the storage backend, like bundles; never
changed afterwards, so an opened file's footer is cached per process by name.
"""

from __future__ import annotations

import functools
import io
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

import pyarrow as pa
import pyarrow.parquet as pq

from evaluator import itemfile, perquery
from evaluator.items import DatasetItems
from evaluator.types import ItemResult

from ..storage import local_copy, open_stored, save_stream, work_dir


def _warm_up() -> None:
    """pyarrow imports pandas (when installed) on its first array conversion and starts its
    readers' pools and codecs on the first Parquet read: ~0.3 s in all. Paid when the process
    starts (the board app imports this module), not by the first request that reads a file."""
    sink = io.BytesIO()
    perquery.write_table(perquery.results_table([]), sink)
    sink.seek(0)
    pq.ParquetFile(sink).read(columns=list(perquery.PAGE_COLUMNS))


_warm_up()

RESULTS_PREFIX = "perquery"
ITEMS_PREFIX = "dataset-items"


def _store(write: object, name: str) -> str:
    """Write a file locally with ``write(path)`` and stream it into storage under ``name``."""
    with TemporaryDirectory(prefix="ipwboard-perquery-", dir=work_dir()) as tmp:
        path = Path(tmp) / Path(name).name
        write(path)  # type: ignore[operator]
        with path.open("rb") as fh:
            return save_stream(name, fh)


def store_results(submission_id: object, items: Sequence[ItemResult], *, synthetic: bool) -> str:
    """Write an evaluation's per-query file; return its stored name. A fresh name every time:
    an evaluation's file is never overwritten (a concurrent writer gets its own)."""
    name = f"{RESULTS_PREFIX}/{submission_id}/{uuid.uuid4().hex}.parquet"
    return _store(
        lambda path: perquery.write_results(
            items, str(path), submission_id=str(submission_id), synthetic=synthetic
        ),
        name,
    )


def store_results_table(submission_id: object, table: pa.Table) -> str:
    """As ``store_results`` for a table already in the file's schema (the migration)."""
    name = f"{RESULTS_PREFIX}/{submission_id}/{uuid.uuid4().hex}.parquet"
    return _store(lambda path: perquery.write_table(table, str(path)), name)


def store_items(slug: str, version: str, sha: str, items: DatasetItems, *, references: bool) -> str:
    name = f"{ITEMS_PREFIX}/{slug}/{version}-{sha[:12]}.parquet"
    return _store(lambda path: itemfile.write_items(items, str(path), references=references), name)


@functools.lru_cache(maxsize=256)
def _footer(name: str) -> pq.FileMetaData:
    # Files are immutable: the footer (row groups, statistics, the segment index) is read once
    # per process. A million-row file's footer is ~0.3 MB; 256 of them bound the cache.
    return pq.read_metadata(open_stored(name))


def open_results(name: str) -> perquery.PerQueryFile:
    return perquery.PerQueryFile(open_stored(name), metadata=_footer(name))


def open_items(name: str) -> itemfile.ItemFile:
    return itemfile.ItemFile(open_stored(name), metadata=_footer(name))


def items_at(name: str, positions: Iterable[int]) -> dict[int, itemfile.Item]:
    """Dataset items by position ({} when the version has no items file)."""
    if not name:
        return {}
    return open_items(name).at(positions)


def read_results(name: str, columns: Sequence[str] | None = None) -> pa.Table:
    """A whole per-query file in dataset order (judging; tests). Read from a local copy."""
    with local_copy(name) as path:
        table = pq.read_table(path, columns=list(columns) if columns else None)
    return perquery.dataset_order(table)
