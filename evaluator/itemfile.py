"""A dataset version's items as one Parquet file, in dataset order, for lookups by position.

The server used to mirror every item into a database row (a million rows took 92 s and 1.4 GiB to
register). The engine's loader already holds the items as Arrow columns (``evaluator.items``), so
the file is written from them without a Python object per item. The drill-down looks prompts up
by dataset position (the per-query file's ``position``): row ``p`` of this file is item ``p``, so
a lookup reads only the row groups holding the page's positions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evaluator.items import DatasetItems

ROW_GROUP = 4_096  # prompts are long: small groups keep a lookup's read small
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("position", pa.int32()),
        ("domain", pa.string()),
        ("method", pa.string()),
        ("prompt", pa.string()),
        ("reference", pa.string()),  # null when the version keeps its references private
    ]
)


@dataclass(frozen=True)
class Item:
    id: str
    prompt: str
    reference: str  # "" when private or absent


def items_table(items: DatasetItems, *, references: bool) -> pa.Table:
    table = items.table
    n = table.num_rows
    return pa.table(
        {
            "id": table.column("id"),
            "position": pa.array(np.arange(n, dtype=np.int32)),
            "domain": table.column("domain").cast(pa.string()),
            "method": table.column("method").cast(pa.string()),
            "prompt": table.column("prompt"),
            "reference": table.column("reference") if references else pa.nulls(n, pa.string()),
        },
        schema=SCHEMA,
    )


def write_table(table: pa.Table, sink: str | BinaryIO) -> None:
    """Write items (``SCHEMA``, dataset order) in row groups of ``ROW_GROUP``."""
    table = table.select(SCHEMA.names).cast(SCHEMA)
    with pq.ParquetWriter(
        sink, SCHEMA, compression="zstd", use_dictionary=["domain", "method"]
    ) as writer:
        writer.write_table(table, row_group_size=ROW_GROUP)


def write_items(items: DatasetItems, sink: str | BinaryIO, *, references: bool) -> None:
    write_table(items_table(items, references=references), sink)


def open_ended_count(items: DatasetItems, method: str = "llm_judge") -> int:
    methods = items.table.column("method").cast(pa.string())
    return int(pc.sum(pc.equal(methods, method)).as_py() or 0)


class ItemFile:
    def __init__(self, source: str | BinaryIO, metadata: pq.FileMetaData | None = None) -> None:
        self.file = pq.ParquetFile(source, metadata=metadata, pre_buffer=True)
        self.metadata = self.file.metadata
        sizes = [self.metadata.row_group(i).num_rows for i in range(self.metadata.num_row_groups)]
        self._starts = np.cumsum([0, *sizes])

    def at(self, positions: Iterable[int]) -> dict[int, Item]:
        """The items at dataset ``positions`` (unknown positions are left out)."""
        wanted = sorted({int(p) for p in positions if 0 <= int(p) < self._starts[-1]})
        if not wanted:
            return {}
        groups = sorted({int(np.searchsorted(self._starts, p, "right") - 1) for p in wanted})
        table = self.file.read_row_groups(groups, columns=["id", "prompt", "reference"])
        offset, base = {}, 0
        for g in groups:
            offset[g] = base
            base += int(self._starts[g + 1] - self._starts[g])
        out = {}
        for p in wanted:
            g = int(np.searchsorted(self._starts, p, "right") - 1)
            row = offset[g] + p - int(self._starts[g])
            out[p] = Item(
                table.column("id")[row].as_py(),
                table.column("prompt")[row].as_py() or "",
                table.column("reference")[row].as_py() or "",
            )
        return out

    def iter_batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        yield from self.file.iter_batches(batch_size=8_192, columns=columns)
