"""Per-query values that must exist and be in range before any metric uses them."""

from __future__ import annotations

import numpy as np

from evaluator.bundle.tables import QueryColumns
from evaluator.errors import BundleError, register
from evaluator.types import Check

QUERIES = "queries.parquet"
ENERGY_MISSING = register(
    "bundle.queries.energy_missing", "A query has no energy_j; every query must be metered."
)
ENERGY_NEGATIVE = register("bundle.queries.energy_negative", "A query's energy_j is negative.")
NEGATIVE = register(
    "bundle.queries.negative_value", "A token count, power or timestamp value is negative."
)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_values(queries: QueryColumns) -> list[Check]:
    energy = queries["energy_j"]
    missing = np.isnan(energy)
    if missing.any():
        row = _first(missing)
        raise BundleError(
            ENERGY_MISSING,
            f"{int(missing.sum())} queries have no energy_j, first {queries.ids[row]!r} at row "
            f"{row}; IPW needs every query's energy",
            file=QUERIES,
            row=row,
            field="energy_j",
        )
    if (energy < 0).any():
        row = _first(energy < 0)
        raise BundleError(
            ENERGY_NEGATIVE,
            f"energy_j is {energy[row]} J for query {queries.ids[row]!r}",
            file=QUERIES,
            row=row,
            field="energy_j",
        )
    for name in (
        "input_tokens",
        "output_tokens",
        "power_avg_w",
        "power_max_w",
        "power_min_w",
        "power_median_w",
        "started_at",
        "ended_at",
    ):
        values = queries[name]
        negative = np.nan_to_num(values, nan=0.0) < 0
        if negative.any():
            row = _first(negative)
            raise BundleError(
                NEGATIVE,
                f"{name} is {values[row]} for query {queries.ids[row]!r}",
                file=QUERIES,
                row=row,
                field=name,
            )
    return [Check("queries.values", "pass", "energy present and values in range on every row")]
