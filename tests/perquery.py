"""Per-query results and dataset items as tests read them, now that they are files (issue 13).

Tests that used to read ``QueryResult`` / ``DatasetItem`` rows read the stored Parquet files
through these helpers instead: rows come back in dataset order with the same attribute names.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pyarrow.parquet as pq
from django.core.files.storage import default_storage

from submissions.services.perquery import read_results


def query_rows(evaluation: Any, method: str | None = None) -> list[SimpleNamespace]:
    """An evaluation's per-query rows in dataset order (optionally of one scoring method)."""
    rows = read_results(evaluation.queries_file.name).to_pylist()
    return [
        SimpleNamespace(
            **{k: ("" if v is None and k in ("reason", "response") else v) for k, v in row.items()}
        )
        for row in rows
        if method is None or row["method"] == method
    ]


def item_rows(version: Any) -> list[SimpleNamespace]:
    """A dataset version's items (id, position, domain, method, prompt, reference), in order."""
    with default_storage.open(version.items_file.name, "rb") as fh:
        table = pq.read_table(fh)
    return [SimpleNamespace(item_id=row["id"], **row) for row in table.to_pylist()]
