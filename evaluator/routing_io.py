"""Reading the routing analysis's inputs from per-query files (``evaluator.perquery``) with pyarrow.

Pure Arrow/numpy, no Django: the server hands in stored files, the bench local paths. Queries are
aligned by dataset position: every evaluation of one dataset version answers the same items, and
``position`` is the item's index in that version (``query_id`` at a position is the same in every
file of the version). Aligning by the int32 position instead of the query-id string keeps a
million-row read to three numeric columns and a dictionary-encoded status.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evaluator.results import STATUS_CODE

from .routing_core import PairColumns, Queries

# What one pair contributes: the file's other columns (responses above all) are never read.
PAIR_COLUMNS = ("position", "status", "energy_j", "latency_s")
UNSCORED = STATUS_CODE["unscored"]


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """A status column (string or dictionary) -> uint8 codes into ``STATUSES``."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    lookup = np.array(
        [STATUS_CODE.get(s, UNSCORED) for s in column.dictionary.to_pylist()] or [UNSCORED],
        dtype=np.uint8,
    )
    indices = column.indices.to_numpy(zero_copy_only=False)
    return lookup[indices]


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    if column.null_count:
        column = column.fill_null(np.nan)
    return column.to_numpy().astype(np.float64, copy=False)


def pair_columns(table: pa.Table, n: int) -> PairColumns:
    """A file's ``PAIR_COLUMNS`` (rows in any order) -> columns in dataset order over ``n``
    queries. A position the file lacks stays unscored with unknown energy."""
    position = table.column("position").to_numpy().astype(np.intp, copy=False)
    if len(position) and (position.min() < 0 or position.max() >= n):
        raise ValueError(f"position out of range for a dataset of {n} queries")
    status = np.full(n, UNSCORED, dtype=np.uint8)
    energy = np.full(n, np.nan, dtype=np.float64)
    latency = np.full(n, np.nan, dtype=np.float64)
    status[position] = _codes(table.column("status"))
    energy[position] = _floats(table.column("energy_j"))
    latency[position] = _floats(table.column("latency_s"))
    return PairColumns(status=status, energy_j=energy, latency_s=latency)


def read_pair(source: str | BinaryIO, n: int) -> PairColumns:
    """One pair's per-query file -> its columns in dataset order."""
    table = pq.read_table(
        source, columns=list(PAIR_COLUMNS), read_dictionary=["status"], pre_buffer=True
    )
    return pair_columns(table, n)


def queries_from_table(table: pa.Table) -> Queries:
    """The queries of a dataset version from a table with ``position``, ``domain`` and the
    query id (``query_id`` in a per-query file, ``id`` in a dataset-items file), any row order."""
    ids_name = "query_id" if "query_id" in table.column_names else "id"
    position = table.column("position").to_numpy().astype(np.intp, copy=False)
    order = np.argsort(position, kind="stable")
    if not np.array_equal(position[order], np.arange(len(position))):
        raise ValueError("positions are not 0..n-1")
    domain = table.column("domain").combine_chunks()
    if not pa.types.is_dictionary(domain.type):
        domain = domain.dictionary_encode()
    names = [str(d) for d in domain.dictionary.to_pylist()]
    codes = domain.indices.to_numpy(zero_copy_only=False)[order]
    ids = table.column(ids_name).take(pa.array(order)).to_pylist()
    return Queries.build(ids, names, codes)


def read_queries(source: str | BinaryIO) -> Queries:
    """The queries from a per-query or dataset-items file."""
    schema = pq.read_schema(source)
    ids_name = "query_id" if "query_id" in schema.names else "id"
    if not isinstance(source, str):
        source.seek(0)
    table = pq.read_table(
        source, columns=["position", "domain", ids_name], read_dictionary=["domain"]
    )
    return queries_from_table(table)
