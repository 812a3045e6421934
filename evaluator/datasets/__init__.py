"""Benchmark datasets: the canonical JSONL file (:mod:`.canonical`), item validation and error
codes (:mod:`.validate`), and importers from the reference harness's formats (:mod:`.importers`)."""

from __future__ import annotations

from evaluator.datasets.canonical import (
    DatasetMeta,
    canonical_line,
    canonical_sha256,
    dataset_sha256,
    item_to_json,
    load_dataset,
    read_dataset_meta,
    write_dataset,
    write_split_dataset,
)
from evaluator.datasets.importers import (
    import_harness_jsonl,
    import_hf_dir,
    import_parquet,
    item_from_harness_row,
)
from evaluator.datasets.validate import (
    DUPLICATE_ID,
    FILE_INVALID,
    HEADER_INVALID,
    IMPORT_INVALID,
    ITEM_INVALID,
    PRIVATE_MISMATCH,
)

__all__ = [
    "DUPLICATE_ID",
    "FILE_INVALID",
    "HEADER_INVALID",
    "IMPORT_INVALID",
    "ITEM_INVALID",
    "PRIVATE_MISMATCH",
    "DatasetMeta",
    "canonical_line",
    "canonical_sha256",
    "dataset_sha256",
    "import_harness_jsonl",
    "import_hf_dir",
    "import_parquet",
    "item_from_harness_row",
    "item_to_json",
    "load_dataset",
    "read_dataset_meta",
    "write_dataset",
    "write_split_dataset",
]
