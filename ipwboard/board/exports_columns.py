"""The board export's layout and data dictionary, derived from the column registry.

``board_columns()`` is the CSV/JSON/Parquet layout and the data dictionary of the board exports,
one entry per registry column shown in ``export``; ``QUERY_COLUMNS`` is the per-query download's
dictionary (``columns.QUERY_COLUMNS``, the per-query file's own schema). Nothing is listed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa

from . import columns
from .columns import QUERY_COLUMNS

__all__ = ["QUERY_COLUMNS", "Column", "arrow_schema", "board_columns"]


@dataclass(frozen=True)
class Column:
    name: str
    source: str  # a ``values()`` path from Evaluation, or "" when computed
    type: str  # string | float | int | bool | timestamp
    unit: str
    description: str

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data.pop("source")
        return data


# Registry types as the exports write them: a UUID as its text, a list ';'-joined.
_EXPORT_TYPE = {"uuid": "string", "list": "string"}


def board_columns() -> tuple[Column, ...]:
    return tuple(
        Column(c.key, c.source, _EXPORT_TYPE.get(c.type, c.type), c.unit, c.help)
        for c in columns.on("export")
    )


_ARROW = {
    "string": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(layout: tuple[Column, ...] | None = None) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW[c.type]) for c in layout or board_columns()])
