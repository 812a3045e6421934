"""A corpus of bad bundles, each built by code from a valid one, with the code it must be rejected
with. One parametrised test walks ``CASES`` through ``evaluate()``; the API tests reuse it.

The valid bundle must come from ``make_valid_bundle(tmpdir, make_dataset(), CORPUS_KEY)`` and be
evaluated with ``trusted_keys=corpus_trusted_keys()``: cases that need a consistent signature after
their change re-sign with ``CORPUS_KEY``.
"""

from __future__ import annotations

from badbundles import (  # noqa: F401  (they fill CASES)
    cases_archive,
    cases_content,
    cases_measurement,
    cases_messages,
    cases_optional,
    cases_physics,
    cases_trust,
)
from badbundles.cases_trust import NEAR_COPY, REENCODINGS, Reencoding, reencode
from badbundles.rewrite import (
    CASES,
    BadCase,
    mutate,
    read_members,
    read_table,
    set_column,
    signature_for,
    table_bytes,
    with_entries,
    with_members,
    write_zip,
)
from badbundles.valid import (
    CORPUS_KEY,
    OTHER_KEY,
    PERIOD,
    T0,
    corpus_trusted_keys,
    make_dataset,
    make_manifest,
    make_queries,
    make_trace,
    make_valid_bundle,
)

__all__ = [
    "CASES",
    "CORPUS_KEY",
    "NEAR_COPY",
    "OTHER_KEY",
    "PERIOD",
    "REENCODINGS",
    "T0",
    "BadCase",
    "Reencoding",
    "corpus_trusted_keys",
    "make_dataset",
    "make_manifest",
    "make_queries",
    "make_trace",
    "make_valid_bundle",
    "mutate",
    "read_members",
    "read_table",
    "reencode",
    "set_column",
    "signature_for",
    "table_bytes",
    "with_entries",
    "with_members",
    "write_zip",
]
