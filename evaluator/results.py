"""``EvaluationResult.items``: the per-query results as columns, read as a sequence of ItemResult.

A million ``ItemResult`` objects cost ~600 MB of Python objects; the same facts as numpy and Arrow
columns cost ~50 MB. ``ItemResults`` keeps the columns and builds an ``ItemResult`` only when one is
read (``items[i]``, iteration), so the public contract (a sequence of ItemResult in dataset order,
equal when the facts are equal) is unchanged while memory stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np
import pyarrow as pa

from evaluator.bundle.tables import OPTIONAL_QUERY_COLUMNS
from evaluator.items import DatasetItems
from evaluator.types import DatasetItem, ItemResult, ItemStatus

STATUSES: tuple[ItemStatus, ...] = ("correct", "incorrect", "unscored")
STATUS_CODE: dict[str, int] = {status: code for code, status in enumerate(STATUSES)}
_CHUNK = 65_536
# Per-query columns carried when the bundle has them (NaN where unknown): input tokens and the
# optional columns of queries.parquet. Each is an ItemResult field of the same name.
EXTRA_COLUMNS: tuple[str, ...] = ("input_tokens", *(c.name for c in OPTIONAL_QUERY_COLUMNS))
_INTEGER_EXTRAS = frozenset(
    {"input_tokens", *(c.name for c in OPTIONAL_QUERY_COLUMNS if c.type == pa.int64())}
)


def _opt_float(value: float) -> float | None:
    return None if math.isnan(value) else value


def _opt_int(value: float) -> int | None:
    return None if math.isnan(value) else int(value)


class ItemResults(Sequence[ItemResult]):
    """One result per dataset item, in dataset order, stored as columns."""

    def __init__(
        self,
        items: Sequence[DatasetItem],
        status: np.ndarray,  # uint8 codes into STATUSES
        extracted: pa.ChunkedArray,  # string, null where nothing was extracted
        reason: pa.ChunkedArray,  # string
        energy_j: np.ndarray,  # float64, NaN where unknown
        latency_s: np.ndarray,
        ttft_s: np.ndarray,
        output_tokens: np.ndarray,  # float64, NaN where unknown
        response: pa.ChunkedArray | None = None,  # string: the raw responses, for drill-downs
        extra: Mapping[str, np.ndarray] | None = None,  # EXTRA_COLUMNS present, float64
    ) -> None:
        n = len(items)
        if response is None:
            response = pa.chunked_array([pa.array([""] * n, pa.string())], pa.string())
        for name, column in (
            ("status", status),
            ("extracted", extracted),
            ("reason", reason),
            ("energy_j", energy_j),
            ("latency_s", latency_s),
            ("ttft_s", ttft_s),
            ("output_tokens", output_tokens),
            ("response", response),
            *(extra or {}).items(),
        ):
            if len(column) != n:
                raise ValueError(f"{name} has {len(column)} values for {n} items")
        # Arrow columns (``evaluator.items``): ids, domains and methods are read a chunk at a time.
        self.dataset_items = DatasetItems.build(items)
        self.status = np.asarray(status, dtype=np.uint8)
        self.extracted = extracted
        self.reason = reason
        self.energy_j = np.asarray(energy_j, dtype=np.float64)
        self.latency_s = np.asarray(latency_s, dtype=np.float64)
        self.ttft_s = np.asarray(ttft_s, dtype=np.float64)
        self.output_tokens = np.asarray(output_tokens, dtype=np.float64)
        self.response = response
        unknown = set(extra or {}) - set(EXTRA_COLUMNS)
        if unknown:
            raise ValueError(f"unknown per-query columns {sorted(unknown)}")
        self.extra = {
            name: np.asarray(values, dtype=np.float64) for name, values in (extra or {}).items()
        }

    @classmethod
    def from_results(
        cls, items: Sequence[DatasetItem], results: Sequence[ItemResult]
    ) -> ItemResults:
        """Columns from ready-made ItemResults (tests, small rescoring jobs)."""

        def floats(values: list[float | int | None]) -> np.ndarray:
            return np.array([math.nan if v is None else float(v) for v in values], np.float64)

        return cls(
            items,
            np.array([STATUS_CODE[r.status] for r in results], dtype=np.uint8),
            pa.chunked_array([pa.array([r.extracted for r in results], pa.string())]),
            pa.chunked_array([pa.array([r.reason for r in results], pa.string())]),
            floats([r.energy_j for r in results]),
            floats([r.latency_s for r in results]),
            floats([r.ttft_s for r in results]),
            floats([r.output_tokens for r in results]),
            pa.chunked_array([pa.array([r.response for r in results], pa.string())]),
            extra={
                name: floats([getattr(r, name) for r in results])
                for name in EXTRA_COLUMNS
                if any(getattr(r, name) is not None for r in results)
            },
        )

    def __len__(self) -> int:
        return len(self.dataset_items)

    def _build(
        self,
        index: int,
        key: tuple[str, str, str],  # the item's (id, domain, method)
        extracted: str | None,
        reason: str,
        response: str | None,
    ) -> ItemResult:
        energy = float(self.energy_j[index])
        extras: dict[str, Any] = {
            name: (_opt_int if name in _INTEGER_EXTRAS else _opt_float)(float(values[index]))
            for name, values in self.extra.items()
        }
        return ItemResult(
            query_id=key[0],
            domain=key[1],
            method=key[2],
            status=STATUSES[int(self.status[index])],
            extracted=extracted,
            reason=reason,
            energy_j=_opt_float(energy),
            latency_s=float(self.latency_s[index]),
            ttft_s=_opt_float(float(self.ttft_s[index])),
            output_tokens=_opt_int(float(self.output_tokens[index])),
            response=response or "",
            **extras,
        )

    @overload
    def __getitem__(self, index: int) -> ItemResult: ...
    @overload
    def __getitem__(self, index: slice) -> list[ItemResult]: ...
    def __getitem__(self, index: int | slice) -> ItemResult | list[ItemResult]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError("item index out of range")
        index %= n
        item = self.dataset_items[index]
        return self._build(
            index,
            (item.id, item.domain, item.method),
            self.extracted[index].as_py(),
            self.reason[index].as_py(),
            self.response[index].as_py(),
        )

    def __iter__(self) -> Iterator[ItemResult]:
        # A chunk of strings at a time: iterating a million results never holds them all.
        for start in range(0, len(self), _CHUNK):
            stop = min(start + _CHUNK, len(self))
            extracted = self.extracted.slice(start, stop - start).to_pylist()
            reason = self.reason.slice(start, stop - start).to_pylist()
            response = self.response.slice(start, stop - start).to_pylist()
            keys = self.dataset_items.keys(start, stop)
            for offset in range(stop - start):
                yield self._build(
                    start + offset,
                    keys[offset],
                    extracted[offset],
                    reason[offset],
                    response[offset],
                )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(
            mine == theirs for mine, theirs in zip(self, other, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking columns: like a list, unhashable

    def __repr__(self) -> str:
        return f"<ItemResults of {len(self)} items>"

    def count(self, value: Any) -> int:
        return sum(1 for result in self if result == value)
