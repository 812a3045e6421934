"""Fixtures for the engine tests: pure Python, no database, no Django."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from badbundles import CORPUS_KEY, corpus_trusted_keys, make_dataset, make_valid_bundle

from evaluator.types import Dataset, DatasetItem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HARNESS_RUN = FIXTURES / "ipw-harness-runs" / "profile_H10080GB_llama3_2_1b"
HARNESS_JSONL = FIXTURES / "ipw-dataset" / "ipw_mixed_120.jsonl"


@pytest.fixture(scope="session")
def corpus_dataset() -> Dataset:
    return make_dataset()


@pytest.fixture(scope="session")
def trusted_keys() -> dict[str, bytes]:
    return corpus_trusted_keys()


@pytest.fixture(scope="session")
def valid_bundle(tmp_path_factory: pytest.TempPathFactory, corpus_dataset: Dataset) -> Path:
    """Built once; tests copy it, never change it."""
    return make_valid_bundle(tmp_path_factory.mktemp("valid"), corpus_dataset, CORPUS_KEY)


def _dataset_from_jsonl(path: Path, slug: str, version: str) -> Dataset:
    # Fallback while evaluator.datasets is being written: ids from dataset_metadata.id.
    items = []
    for line in path.read_text("utf-8").splitlines():
        row = json.loads(line)
        meta = json.loads(row["dataset_metadata"])
        items.append(
            DatasetItem(
                id=meta["id"],
                prompt=row["problem"],
                reference=row["answer"],
                domain=row.get("subject") or meta.get("task_type", "general"),
                method=meta["evaluation_method"],
                params={k: v for k, v in meta.items() if k in ("options", "tolerance", "rubric")},
            )
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Dataset(slug=slug, version=version, sha256=digest, items=tuple(items))


@pytest.fixture(scope="session")
def harness_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The canonical dataset the board would publish for the harness workload."""
    try:
        from evaluator.datasets import import_harness_jsonl, load_dataset
    except ImportError:  # the datasets module is optional for these tests
        return _dataset_from_jsonl(HARNESS_JSONL, "ipw-mixed", "120")
    imported = import_harness_jsonl(HARNESS_JSONL, "ipw-mixed", "120")
    if isinstance(imported, Dataset):
        return imported
    # A draft to be written as the canonical file, whose sha256 the dataset then carries.
    canonical = tmp_path_factory.mktemp("dataset") / "ipw-mixed-120.jsonl"
    imported.write(canonical)
    return load_dataset(canonical)
