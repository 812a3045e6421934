"""A dataset's items as Arrow columns, read as a sequence of ``DatasetItem``.

A million items as Python objects cost ~700 MB (a slotted object, five strings and a params dict
each); as Arrow columns they cost ~190 MB, and the engine needs them all at once in the worker.
``DatasetItem`` objects are built when read: one at a time by index, or a batch at a time by
``take`` (the scorer) and iteration. Params are kept as canonical JSON text and parsed when read.

Also here: the Arrow helpers shared by the dataset loader and the workload check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evaluator.types import DatasetItem, ScoringMethod

BATCH = 65_536
_COLUMNS = ("id", "prompt", "reference", "domain", "method", "params")
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", pa.string()),
        ("reference", pa.string()),
        ("domain", pa.dictionary(pa.int32(), pa.string())),
        ("method", pa.dictionary(pa.int32(), pa.string())),
        ("params", pa.string()),  # canonical JSON; null for no params
    ]
)


def _batch(items: list[DatasetItem]) -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array([i.id for i in items], pa.string()),
            pa.array([i.prompt for i in items], pa.string()),
            pa.array([i.reference for i in items], pa.string()),
            pa.array([i.domain for i in items], pa.string()).dictionary_encode(),
            pa.array([i.method for i in items], pa.string()).dictionary_encode(),
            pa.array(
                [
                    json.dumps(dict(i.params), sort_keys=True, separators=(",", ":"))
                    if i.params
                    else None
                    for i in items
                ],
                pa.string(),
            ),
        ],
        schema=SCHEMA,
    )


def _shared(column: pa.ChunkedArray) -> list[str]:
    """A dictionary column as Python strings, one object per distinct value (not per row)."""
    out: list[str] = []
    for chunk in column.chunks:
        words = chunk.dictionary.to_pylist()
        out.extend(words[i] for i in chunk.indices.to_numpy(zero_copy_only=False))
    return out


class DatasetItems(Sequence[DatasetItem]):
    """Immutable, in dataset order. Equal to any sequence of the same items."""

    __slots__ = ("table",)

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    @classmethod
    def build(cls, items: Iterable[DatasetItem]) -> DatasetItems:
        """From items (any iterable; at most ``BATCH`` of them are held as objects at once)."""
        if isinstance(items, DatasetItems):
            return items
        batches: list[pa.RecordBatch] = []
        pending: list[DatasetItem] = []
        for item in items:
            pending.append(item)
            if len(pending) == BATCH:
                batches.append(_batch(pending))
                pending = []
        if pending or not batches:
            batches.append(_batch(pending))
        return cls(pa.Table.from_batches(batches, SCHEMA))

    def __len__(self) -> int:
        return self.table.num_rows

    @overload
    def __getitem__(self, index: int) -> DatasetItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[DatasetItem]: ...
    def __getitem__(self, index: int | slice) -> DatasetItem | list[DatasetItem]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return self.take(np.arange(start, stop, step, dtype=np.int64))
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("dataset item index out of range")
        return _objects(self.table.slice(index, 1))[0]

    def __iter__(self) -> Iterator[DatasetItem]:
        for start in range(0, len(self), BATCH):
            yield from _objects(self.table.slice(start, BATCH))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DatasetItems):
            return self.table.equals(other.table)
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # params are dicts: items never were hashable

    def __repr__(self) -> str:
        return f"DatasetItems({len(self)} items)"

    def take(self, indices: np.ndarray | Sequence[int]) -> list[DatasetItem]:
        """The items at ``indices`` (dataset positions), built in one batch."""
        return _objects(self.table.take(pa.array(np.asarray(indices, dtype=np.int64))))

    def keys(self, start: int, stop: int) -> list[tuple[str, str, str]]:
        """(id, domain, method) of the items in ``[start, stop)``, without building the items."""
        part = self.table.slice(start, stop - start)
        return list(
            zip(
                part.column("id").to_pylist(),
                _shared(part.column("domain")),
                _shared(part.column("method")),
                strict=True,
            )
        )

    def ids(self) -> pa.ChunkedArray:
        return self.table.column("id")

    def domains(self) -> list[str]:
        return _shared(self.table.column("domain"))

    def methods(self) -> list[str]:
        return _shared(self.table.column("method"))


def _objects(table: pa.Table) -> list[DatasetItem]:
    ids, prompts, refs, _, _, params = (table.column(name).to_pylist() for name in _COLUMNS)
    domains, methods = _shared(table.column("domain")), _shared(table.column("method"))
    loads = json.loads
    return [
        DatasetItem(i, p, r, d, cast(ScoringMethod, m), loads(x) if x else {})
        for i, p, r, d, m, x in zip(ids, prompts, refs, domains, methods, params, strict=True)
    ]


def first_duplicate(values: pa.Array | pa.ChunkedArray) -> tuple[int, int, Any] | None:
    """(first row, repeating row, value) for the earliest row whose value appeared before, or
    None when every value is distinct. One hash pass when there is no duplicate."""
    unique = pc.unique(values)
    if len(unique) == len(values):
        return None
    # ``unique`` is in order of first appearance, so a code's first row is where it first shows.
    codes = pc.index_in(values, value_set=unique).to_numpy(zero_copy_only=False).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    repeat = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1
    row = int(order[repeat].min())
    first = int(np.flatnonzero(codes == codes[row])[0])
    return first, row, values[row].as_py()
