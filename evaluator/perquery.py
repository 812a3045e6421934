"""Per-query results as one Parquet file per evaluation: the layout, the writer and the reader.

The database keeps an evaluation's aggregates, per-domain figures and chart bins; every per-query
row lives in this file in the storage backend, beside the bundle. Nothing here knows Django: the
server hands in a local path or a seekable file object (a ranged S3 reader).

Layout (``SCHEMA``): the columns of the public per-query download, so the stored file *is* the
download (served as is: no rebuild, first byte at once). Rows are clustered by (domain, status) and
by dataset position within each cluster, in row groups of ``ROW_GROUP`` rows:

- the drill-down's filters (a domain, wrong answers only, a status) select whole clusters, which
  are contiguous row ranges: a page of them reads one or two row groups whatever the file's size,
  and any Parquet engine (pyarrow, DuckDB, Spark, Trino) prunes row groups for such filters from
  the column statistics alone;
- the clusters are listed in the footer's key-value metadata (``SEGMENTS_KEY``: domain, status,
  first row, rows), so counting a filter's rows needs no data page;
- ``position`` (the item's index in the dataset) keeps the default order: a page in dataset order
  reads only that int32 column besides the page's own rows.

Why not dataset order with no clustering: a filtered page would then read the domain and status
of every row, and its 25 rows would be spread over many row groups of responses. Measured on a
million rows, see docs/scaling.md.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evaluator.results import _INTEGER_EXTRAS, EXTRA_COLUMNS, STATUSES, ItemResults
from evaluator.types import ItemResult

FORMAT_KEY = b"ipwboard.perquery"
SEGMENTS_KEY = b"ipwboard.segments"
FORMAT_VERSION = b"1"
# 2,048 rows: a page reads whole column chunks of the groups its rows fall in (Parquet readers
# skip groups, not rows), so the group is what a page costs: ~0.5 MB of responses of a few hundred
# characters. A million rows make 489 groups; with statistics kept only on the short columns
# (``STATISTICS``) their footer is ~0.3 MB, read once per process. Measured: docs/scaling.md.
ROW_GROUP = 2_048
# Columns with min/max statistics per row group: what filters and sorts prune on. Free text gets
# none (a response's min/max would only bloat the footer).
STATISTICS = ("position", "domain", "method", "status", "energy_j", "latency_s", "power_w")

_BASE: list[tuple[str, pa.DataType]] = [
    ("submission_id", pa.string()),
    ("position", pa.int32()),
    ("query_id", pa.string()),
    ("domain", pa.string()),
    ("method", pa.string()),
    ("status", pa.string()),
    ("extracted", pa.string()),
    ("reason", pa.string()),
    ("response", pa.string()),
    ("energy_j", pa.float64()),
    ("latency_s", pa.float64()),
    ("power_w", pa.float64()),
    ("ttft_s", pa.float64()),
    ("output_tokens", pa.int64()),
    ("synthetic", pa.bool_()),
]
SCHEMA = pa.schema(
    [
        *_BASE,
        *(
            (name, pa.int64() if name in _INTEGER_EXTRAS else pa.float64())
            for name in EXTRA_COLUMNS
        ),
    ]
)
# The columns a drill-down page shows (the rest stay on disk).
PAGE_COLUMNS = (
    "position",
    "query_id",
    "domain",
    "method",
    "status",
    "extracted",
    "reason",
    "response",
    "energy_j",
    "latency_s",
)
SORTABLE = ("energy_j", "latency_s")
_POSITION = SCHEMA.names.index("position")


@dataclass(frozen=True)
class Segment:
    """A cluster of rows with one domain and one status: rows ``[start, start + rows)``."""

    domain: str
    status: str
    start: int
    rows: int

    @property
    def stop(self) -> int:
        return self.start + self.rows


# --- building the table -------------------------------------------------------------------------


def _floats(values: np.ndarray, integer: bool) -> pa.Array:
    """float64 with NaN for unknown -> a nullable Arrow column (int64 for counts)."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    if integer:
        return pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing)
    return pa.array(values, mask=missing)


def results_table(
    items: Sequence[ItemResult], *, submission_id: str = "", synthetic: bool = False
) -> pa.Table:
    """The file's columns in dataset order, from the engine's columns (``ItemResults``: no
    per-row objects) or from any sequence of ItemResult (tests, small re-scorings)."""
    if not isinstance(items, ItemResults):
        return _table_from_objects(items, submission_id, synthetic)
    return _Columns(items, submission_id, synthetic).rows(np.arange(len(items)))


class _Columns:
    """An engine result's file columns, built for a set of rows (dataset positions) at a time: the
    writer builds one row group at once, never whole-file copies of its columns (the status as
    text, power, the unknown optional columns as nulls: ~150 MB for a million rows)."""

    def __init__(self, items: ItemResults, submission_id: str, synthetic: bool) -> None:
        keys = items.dataset_items.table.select(["id", "domain", "method"]).unify_dictionaries()
        self.items, self.submission_id, self.synthetic = items, submission_id, synthetic
        self.ids = _Gather(keys.column("id"))
        self.domain, self.domains = _codes(keys.column("domain"))
        self.method, self.methods = _codes(keys.column("method"))
        self.text = {name: _Gather(getattr(items, name)) for name in _TEXT}

    def rows(self, rows: np.ndarray) -> pa.Table:
        items, n = self.items, len(rows)
        energy, latency = items.energy_j[rows], items.latency_s[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            power = np.where(latency > 0, energy / latency, np.nan)
        columns: dict[str, Any] = {
            "submission_id": pa.repeat(pa.scalar(self.submission_id), n),
            "position": pa.array(rows.astype(np.int32)),
            "query_id": self.ids.take(rows),
            "domain": _decoded(self.domain[rows], self.domains),
            "method": _decoded(self.method[rows], self.methods),
            "status": _decoded(items.status[rows], pa.array(STATUSES)),
            **{name: self.text[name].take(rows) for name in _TEXT},
            "energy_j": _floats(energy, False),
            "latency_s": _floats(latency, False),
            "power_w": _floats(power, False),
            "ttft_s": _floats(items.ttft_s[rows], False),
            "output_tokens": _floats(items.output_tokens[rows], True),
            "synthetic": pa.repeat(pa.scalar(self.synthetic), n),
        }
        for name in EXTRA_COLUMNS:
            values = items.extra.get(name)
            columns[name] = (
                _floats(values[rows], name in _INTEGER_EXTRAS)
                if values is not None
                else pa.nulls(n, SCHEMA.field(name).type)
            )
        return pa.table({name: columns[name] for name in SCHEMA.names}, schema=SCHEMA)


_TEXT = ("extracted", "reason", "response")


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(index per row, dictionary) of a dictionary column whose chunks share one dictionary."""
    if not column.chunks:
        return np.empty(0, np.int32), pa.array([], pa.string())
    codes = [chunk.indices.to_numpy(zero_copy_only=False) for chunk in column.chunks]
    return np.concatenate(codes), column.chunks[0].dictionary


def _decoded(codes: np.ndarray, dictionary: pa.Array) -> pa.Array:
    indices = pa.array(np.asarray(codes, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def _table_from_objects(
    items: Iterable[ItemResult], submission_id: str, synthetic: bool
) -> pa.Table:
    rows = []
    for position, item in enumerate(items):
        row = {name: getattr(item, name, None) for name in SCHEMA.names}
        energy, latency = item.energy_j, item.latency_s
        row.update(
            submission_id=submission_id,
            synthetic=synthetic,
            position=position,
            power_w=energy / latency if energy is not None and latency else None,
        )
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SCHEMA)


# --- writing ------------------------------------------------------------------------------------


def cluster_order(
    domain: pa.ChunkedArray, status: pa.ChunkedArray
) -> tuple[np.ndarray, list[Segment]]:
    """Row order of the file (domain, then status in ``STATUSES`` order, then the table's order)
    and its segments. ``domain`` and ``status`` are in the table's (dataset) order."""
    domains = pc.dictionary_encode(domain).combine_chunks()
    codes = domains.indices.to_numpy(zero_copy_only=False)
    status_code = pc.index_in(status, value_set=pa.array(STATUSES)).to_numpy(zero_copy_only=False)
    return _clusters(codes, domains.dictionary.to_pylist(), status_code)


def _clusters(
    domain_code: np.ndarray, names: list[str], status_code: np.ndarray
) -> tuple[np.ndarray, list[Segment]]:
    """``cluster_order`` from a code per row into ``names`` and a code into ``STATUSES``."""
    n = len(domain_code)
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
    domain_rank = rank[domain_code] if n else np.empty(0, np.int64)
    key = domain_rank * len(STATUSES) + np.asarray(status_code, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.empty(0, int)
    bounds = [*starts.tolist(), n]
    by_rank = sorted(names)
    segments = [
        Segment(
            by_rank[int(ordered[a]) // len(STATUSES)],
            STATUSES[int(ordered[a]) % len(STATUSES)],
            int(a),
            int(b - a),
        )
        for a, b in itertools.pairwise(bounds)
    ]
    return order, segments


class _Gather:
    """Rows of a chunked column by index without concatenating it first: the engine's columns
    come in chunks (a copy of all of them would add the responses' size to the worker's peak),
    and Arrow's own take on a chunked column resolves every index separately (~30x slower). A
    row group's indices ascend within each cluster, so they fall in a few runs of one chunk."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        self.chunks = column.chunks or [pa.array([], column.type)]
        self.offsets = np.cumsum([0, *(len(c) for c in self.chunks)])

    def take(self, rows: np.ndarray) -> pa.Array:
        if len(self.chunks) == 1:
            return self.chunks[0].take(pa.array(rows))
        which = np.searchsorted(self.offsets, rows, "right") - 1
        cuts = [0, *(np.flatnonzero(np.diff(which)) + 1).tolist(), len(rows)]
        return pa.concat_arrays(
            [
                self.chunks[which[a]].take(pa.array(rows[a:b] - self.offsets[which[a]]))
                for a, b in itertools.pairwise(cuts)
            ]
        )


def write_table(
    table: pa.Table, sink: str | BinaryIO, *, row_group: int = ROW_GROUP
) -> list[Segment]:
    """Write a table of ``SCHEMA`` (rows in dataset order) clustered as the module says."""
    table = table.select(SCHEMA.names).cast(SCHEMA)
    order, segments = cluster_order(table.column("domain"), table.column("status"))
    columns = [_Gather(table.column(name)) for name in SCHEMA.names]
    _write(order, segments, lambda rows: [c.take(rows) for c in columns], sink, row_group)
    return segments


def write_results(
    items: Sequence[ItemResult],
    sink: str | BinaryIO,
    *,
    submission_id: str = "",
    synthetic: bool = False,
) -> list[Segment]:
    """An engine result's items -> the per-query file, one row group built at a time."""
    if not isinstance(items, ItemResults):
        return write_table(_table_from_objects(items, submission_id, synthetic), sink)
    columns = _Columns(items, submission_id, synthetic)
    order, segments = _clusters(columns.domain, columns.domains.to_pylist(), items.status)
    _write(order, segments, lambda rows: columns.rows(rows).columns, sink, ROW_GROUP)
    return segments


def _write(
    order: np.ndarray,
    segments: list[Segment],
    build: Callable[[np.ndarray], list[Any]],  # the SCHEMA columns of the given rows
    sink: str | BinaryIO,
    row_group: int,
) -> None:
    metadata = {
        FORMAT_KEY: FORMAT_VERSION,
        SEGMENTS_KEY: json.dumps(
            [[s.domain, s.status, s.start, s.rows] for s in segments]
        ).encode(),
    }
    schema = SCHEMA.with_metadata(metadata)
    with pq.ParquetWriter(
        sink,
        schema,
        compression="zstd",
        write_statistics=list(STATISTICS),
        # Dictionary pages for the repetitive columns only; free text is stored plain.
        use_dictionary=["submission_id", "domain", "method", "status", "extracted"],
    ) as writer:
        for start in range(0, len(order), row_group):
            rows = order[start : start + row_group]
            writer.write_table(pa.table(build(rows), schema=schema), row_group_size=row_group)
        if not len(order):
            writer.write_table(pa.table(build(order), schema=schema))


# --- reading ------------------------------------------------------------------------------------


def segments_of(metadata: pq.FileMetaData) -> list[Segment]:
    raw = (metadata.metadata or {}).get(SEGMENTS_KEY)
    if raw is None:
        raise ValueError("not a per-query results file (no segment index)")
    return [Segment(d, s, int(a), int(n)) for d, s, a, n in json.loads(raw)]


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]  # PAGE_COLUMNS per row, in the page's order
    total: int  # rows matching the filter


class PerQueryFile:
    """Reads pages of one per-query file. ``metadata`` (from an earlier open of the same,
    immutable file) skips parsing the footer again."""

    def __init__(self, source: str | BinaryIO, metadata: pq.FileMetaData | None = None) -> None:
        self.file = pq.ParquetFile(source, metadata=metadata, pre_buffer=True)
        self.metadata = self.file.metadata
        self.segments = segments_of(self.metadata)
        self.num_rows = self.metadata.num_rows
        group_rows = [
            self.metadata.row_group(i).num_rows for i in range(self.metadata.num_row_groups)
        ]
        self._group_start = np.cumsum([0, *group_rows])

    def select(self, domain: str = "", statuses: Iterable[str] = ()) -> list[Segment]:
        wanted = set(statuses)
        return [
            s
            for s in self.segments
            if (not domain or s.domain == domain) and (not wanted or s.status in wanted)
        ]

    def page(
        self,
        segments: Sequence[Segment],
        offset: int,
        limit: int,
        *,
        sort: str = "",
        descending: bool = False,
        columns: Sequence[str] = PAGE_COLUMNS,
    ) -> Page:
        """Rows ``[offset, offset + limit)`` of the selected segments, in dataset order or by
        ``sort`` (one of ``SORTABLE``; unknown values last, ties in file order)."""
        total = sum(s.rows for s in segments)
        stop = min(offset + limit, total)
        if offset >= stop:
            return Page([], total)
        if sort:
            rows = self._sorted_rows(segments, offset, stop, sort, descending)
        elif len(segments) == 1:  # one cluster: already in dataset order
            rows = np.arange(segments[0].start + offset, segments[0].start + stop)
        elif total == self.num_rows:  # every row: the page is positions [offset, stop)
            rows = self._rows_at_positions(offset, stop)
        else:
            rows = self._position_rows(segments)[offset:stop]
        return Page(self.take(rows, columns), total)

    def _column(self, name: str, segments: Sequence[Segment]) -> tuple[np.ndarray, np.ndarray]:
        """(file row numbers, values) of ``name`` over the segments, reading only their groups;
        unknown values are NaN."""
        starts = self._group_start
        groups = sorted(
            {
                g
                for s in segments
                for g in range(
                    int(np.searchsorted(starts, s.start, "right") - 1),
                    int(np.searchsorted(starts, s.stop - 1, "right")),
                )
            }
        )
        column = self.file.read_row_groups(groups, columns=[name]).column(name)
        if column.null_count:
            column = pc.fill_null(pc.cast(column, pa.float64()), np.nan)
        values = column.to_numpy(zero_copy_only=False)
        # Where each group starts in ``values``: the groups read are a sorted subset.
        read_rows = [int(starts[g + 1] - starts[g]) for g in groups]
        at = dict(zip(groups, np.cumsum([0, *read_rows[:-1]]).tolist(), strict=True))
        rows, parts = [], []
        for s in segments:
            g = int(np.searchsorted(starts, s.start, "right") - 1)
            first = at[g] + s.start - int(starts[g])
            parts.append(values[first : first + s.rows])
            rows.append(np.arange(s.start, s.stop, dtype=np.int64))
        return np.concatenate(rows), np.concatenate(parts)

    def _rows_at_positions(self, start: int, stop: int) -> np.ndarray:
        """File rows holding positions ``[start, stop)``, in that order. Positions ascend within
        each cluster, so only the groups whose ``position`` statistics overlap the range hold
        them (about one per cluster): only their position column is read."""
        groups = []
        for g in range(self.metadata.num_row_groups):
            stats = self.metadata.row_group(g).column(_POSITION).statistics
            if stats is None or not stats.has_min_max or (stats.min < stop and stats.max >= start):
                groups.append(g)
        column = self.file.read_row_groups(groups, columns=["position"]).column("position")
        positions = column.to_numpy(zero_copy_only=False).astype(np.int64)
        base = np.concatenate(
            [np.arange(self._group_start[g], self._group_start[g + 1]) for g in groups]
        )
        keep = (positions >= start) & (positions < stop)
        rows = np.full(stop - start, -1, dtype=np.int64)
        rows[positions[keep] - start] = base[keep]
        return rows[rows >= 0]

    def _position_rows(self, segments: Sequence[Segment]) -> np.ndarray:
        """File rows of the segments in dataset order: positions are unique, so scattering the
        rows by position and reading them back in order is a linear-time merge."""
        rows, positions = self._column("position", segments)
        by_position = np.full(self.num_rows, -1, dtype=np.int64)
        by_position[positions.astype(np.int64)] = rows
        return by_position[by_position >= 0]

    def _sorted_rows(
        self, segments: Sequence[Segment], offset: int, stop: int, sort: str, descending: bool
    ) -> np.ndarray:
        if sort not in SORTABLE:
            raise ValueError(f"cannot sort by {sort!r}")
        rows, values = self._column(sort, segments)
        keys = -values.astype(np.float64) if descending else values.astype(np.float64)
        keys = np.where(np.isnan(keys), np.inf, keys)  # unknown last either way
        # Only the ranks up to ``stop`` are ordered: partition, then sort the few candidates
        # (ties kept in file order, as a stable sort would).
        bound = np.partition(keys, stop - 1)[stop - 1]
        candidates = np.flatnonzero(keys <= bound)
        ordered = candidates[np.lexsort((candidates, keys[candidates]))]
        return rows[ordered[offset:stop]]

    def take(self, rows: np.ndarray, columns: Sequence[str] = PAGE_COLUMNS) -> list[dict[str, Any]]:
        """The given file rows (any order), reading only the row groups they fall in."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return []
        group_of = np.searchsorted(self._group_start, rows, "right") - 1
        groups = sorted(set(group_of.tolist()))
        table = self.file.read_row_groups(groups, columns=list(columns))
        offsets = {
            g: int(sum(self.metadata.row_group(h).num_rows for h in groups[:i]))
            for i, g in enumerate(groups)
        }
        local = np.array(
            [
                offsets[int(g)] + int(r - self._group_start[g])
                for r, g in zip(rows, group_of, strict=True)
            ]
        )
        return table.take(pa.array(local)).to_pylist()

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        """Whole columns of the file, in file (clustered) order."""
        return self.file.read(columns=list(columns) if columns else None)

    def iter_batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        yield from self.file.iter_batches(
            batch_size=ROW_GROUP, columns=list(columns) if columns else None
        )


def dataset_order(table: pa.Table) -> pa.Table:
    """A per-query table read back from a file, in dataset order (by ``position``)."""
    positions = table.column("position").to_numpy(zero_copy_only=False)
    order = np.empty(len(positions), dtype=np.int64)
    order[positions.astype(np.int64)] = np.arange(len(positions))
    return table.take(pa.array(order))
