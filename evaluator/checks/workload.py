"""The workload: the bundle answers exactly the dataset's queries, each once.

Matching is done in Arrow (a hash join of the bundle's ids against the dataset's), so a million
queries cost neither a Python dict nor a Python string per id.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evaluator.bundle.tables import release_unused
from evaluator.checks import preview
from evaluator.errors import BundleError, register
from evaluator.items import first_duplicate
from evaluator.types import Check

QUERIES = "queries.parquet"
MISSING = register(
    "bundle.workload.missing_queries", "Some of the dataset's queries have no row in the bundle."
)
DUPLICATE = register("bundle.workload.duplicate_query", "A query id appears on more than one row.")
UNKNOWN = register("bundle.workload.unknown_query", "A query id is not in the declared dataset.")


def _as_array(ids: Sequence[str] | pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    if isinstance(ids, pa.Array | pa.ChunkedArray):
        return ids
    array = getattr(ids, "array", None)  # evaluator.bundle.tables.IdColumn
    if isinstance(array, pa.Array | pa.ChunkedArray):
        return array
    return pa.array(list(ids), pa.string())


def _preview(shown: list[str], total: int) -> str:
    """Like ``evaluator.checks.preview`` for the first few of ``total`` values."""
    text = preview(shown)
    return f"{text} and {total - len(shown)} more" if total > len(shown) else text


def _same_values(a: pa.Array | pa.ChunkedArray, b: pa.Array | pa.ChunkedArray) -> bool:
    """Element-wise equal (whatever the chunking; string and large_string alike)."""
    if not isinstance(a, pa.ChunkedArray):
        a = pa.chunked_array([a])
    if not isinstance(b, pa.ChunkedArray):
        b = pa.chunked_array([b])
    if a.type != b.type:
        b = b.cast(a.type)
    return bool(a.equals(b))


def match_workload(
    ids: Sequence[str] | pa.Array | pa.ChunkedArray,
    dataset_ids: Sequence[str] | pa.Array,
) -> tuple[np.ndarray, list[Check]]:
    """Each row's index in ``dataset_ids`` (int64), or raise: duplicates, unknown ids, missing."""
    rows = _as_array(ids)
    expected = _as_array(dataset_ids)
    n = len(rows)
    size = len(expected)
    # The harness writes the queries in dataset order: then the ids are the dataset's, byte for
    # byte, and one comparison (no hash table) proves the workload complete, each query once.
    if n == size and _same_values(rows, expected):
        return np.arange(n, dtype=np.int64), [
            Check("workload.complete", "pass", f"all {size} queries, each once")
        ]
    repeated = first_duplicate(rows)
    if repeated is not None:
        first, row, query_id = repeated
        raise BundleError(
            DUPLICATE,
            f"query {query_id!r} appears on rows {first} and {row}; keep one row per query",
            file=QUERIES,
            row=row,
            field="query_id",
        )
    index = pc.index_in(rows, value_set=expected)
    positions = index.to_numpy(zero_copy_only=False)
    if index.null_count:
        unknown = np.flatnonzero(pc.is_null(index).to_numpy(zero_copy_only=False))
        shown = [repr(rows[int(r)].as_py()) for r in unknown[:5]]
        raise BundleError(
            UNKNOWN,
            f"{len(unknown)} query id(s) are not in the dataset: {_preview(shown, len(unknown))}",
            file=QUERIES,
            row=int(unknown[0]),
            field="query_id",
        )
    positions = np.asarray(positions, dtype=np.int64)
    del index
    release_unused()  # the hash tables of the match: tens of MB at a million ids
    if n < size:
        seen = np.zeros(size, dtype=bool)
        seen[positions] = True
        missing = np.flatnonzero(~seen)
        shown = [repr(expected[int(i)].as_py()) for i in missing[:5]]
        raise BundleError(
            MISSING,
            f"{len(missing)} of the dataset's {size} queries are missing: "
            f"{_preview(shown, len(missing))}; run the whole workload",
            file=QUERIES,
            field="query_id",
        )
    return positions, [Check("workload.complete", "pass", f"all {size} queries, each once")]


def check_workload(ids: Sequence[str], dataset_ids: Sequence[str]) -> list[Check]:
    return match_workload(ids, dataset_ids)[1]
