"""The workload: the bundle answers exactly the dataset's queries, each once."""

from __future__ import annotations

from collections.abc import Sequence

from evaluator.checks import preview
from evaluator.errors import BundleError, register
from evaluator.types import Check

QUERIES = "queries.parquet"
MISSING = register(
    "bundle.workload.missing_queries", "Some of the dataset's queries have no row in the bundle."
)
DUPLICATE = register("bundle.workload.duplicate_query", "A query id appears on more than one row.")
UNKNOWN = register("bundle.workload.unknown_query", "A query id is not in the declared dataset.")


def check_workload(ids: Sequence[str], dataset_ids: Sequence[str]) -> list[Check]:
    first_row: dict[str, int] = {}
    for row, query_id in enumerate(ids):
        if query_id in first_row:
            raise BundleError(
                DUPLICATE,
                f"query {query_id!r} appears on rows {first_row[query_id]} and {row}; "
                "keep one row per query",
                file=QUERIES,
                row=row,
                field="query_id",
            )
        first_row[query_id] = row
    expected = set(dataset_ids)
    unknown = [(row, q) for row, q in enumerate(ids) if q not in expected]
    if unknown:
        raise BundleError(
            UNKNOWN,
            f"{len(unknown)} query id(s) are not in the dataset: "
            f"{preview([repr(q) for _, q in unknown])}",
            file=QUERIES,
            row=unknown[0][0],
            field="query_id",
        )
    missing = [q for q in dataset_ids if q not in first_row]
    if missing:
        raise BundleError(
            MISSING,
            f"{len(missing)} of the dataset's {len(dataset_ids)} queries are missing: "
            f"{preview([repr(q) for q in missing])}; run the whole workload",
            file=QUERIES,
            field="query_id",
        )
    return [Check("workload.complete", "pass", f"all {len(dataset_ids)} queries, each once")]
