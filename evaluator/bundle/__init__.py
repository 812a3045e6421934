"""Bundle format v1 (docs/bundle-format.md): a ZIP holding a manifest, two Parquet tables and a
DSSE signature. Reading is in ``unpack``/``tables``, writing in ``pack``."""

from __future__ import annotations

from evaluator.bundle.pack import bundle_sha256, pack_bundle, sign_bundle, write_trace
from evaluator.bundle.tables import (
    QUERY_COLUMNS,
    QUERY_SCHEMA,
    TRACE_COLUMNS,
    TRACE_SCHEMA,
    QueryColumns,
    TraceReader,
    iter_responses,
    iter_trace,
    read_query_columns,
)
from evaluator.bundle.unpack import (
    ALLOWED_MEMBERS,
    MANIFEST,
    QUERIES,
    SIGNATURE,
    TRACE,
    OpenedBundle,
    open_bundle,
    sha256_file,
)

__all__ = [
    "ALLOWED_MEMBERS",
    "MANIFEST",
    "QUERIES",
    "QUERY_COLUMNS",
    "QUERY_SCHEMA",
    "SIGNATURE",
    "TRACE",
    "TRACE_COLUMNS",
    "TRACE_SCHEMA",
    "OpenedBundle",
    "QueryColumns",
    "TraceReader",
    "bundle_sha256",
    "iter_responses",
    "iter_trace",
    "open_bundle",
    "pack_bundle",
    "read_query_columns",
    "sha256_file",
    "sign_bundle",
    "write_trace",
]
