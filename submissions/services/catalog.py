"""Catalog writes: registering dataset versions, and resolving manifest names to catalog rows."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from django.conf import settings
from django.db import transaction

from evaluator.datasets import PRIVATE_MISMATCH, dataset_sha256, load_dataset, read_dataset_meta
from evaluator.errors import BundleError
from evaluator.itemfile import open_ended_count
from evaluator.types import Dataset

from ..models import BenchmarkDataset, DatasetVersion
from ..storage import hash_stored, local_copy, save_stream
from .perquery import store_items


class DatasetVersionConflict(Exception):
    """A slug + version is already registered with other content: versions are immutable."""


@transaction.atomic
def register_dataset_version(
    path: Path,
    *,
    name: str = "",
    description: str = "",
    license: str = "",
    private_path: Path | None = None,
) -> DatasetVersion:
    """Register a canonical dataset file (with its private references file, if it keeps them
    hidden). Idempotent: the same content returns the existing row. Versions are immutable: other
    content under a registered slug + version raises ``DatasetVersionConflict``. ``description``
    and ``license`` default to the file header's."""
    sha = dataset_sha256(path)
    meta = read_dataset_meta(path)
    existing = (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset__slug=meta.slug, version=meta.version)
        .first()
    )
    if existing is None:
        existing = DatasetVersion.objects.select_related("dataset").filter(sha256=sha).first()
    if existing is not None:
        _check_same_content(existing, sha, private_path)
        return existing
    if meta.references == "private" and private_path is None:
        raise BundleError(
            PRIVATE_MISMATCH,
            "this file keeps its references private: register it with its private file",
            str(path),
        )
    dataset = load_dataset(path, private=private_path) if private_path else load_dataset(path)
    description = description or meta.description
    license = license or meta.license
    bench, created = BenchmarkDataset.objects.get_or_create(
        slug=dataset.slug,
        defaults={"name": name or dataset.slug, "description": description, "license": license},
    )
    if not created and (not bench.description or not bench.license):
        # A dataset first registered without them takes them from its next version's header.
        bench.description = bench.description or description
        bench.license = bench.license or license
        bench.save(update_fields=["description", "license"])
    with path.open("rb") as fh:
        stored = save_stream(f"datasets/{dataset.slug}/{dataset.version}-{sha[:12]}.jsonl", fh)
    private_stored = ""
    if private_path is not None:
        with private_path.open("rb") as fh:
            private_stored = save_stream(
                f"datasets-private/{dataset.slug}/{dataset.version}-{sha[:12]}.jsonl", fh
            )
    # The items as a Parquet file from the loader's Arrow columns (no row, no object per item):
    # the drill-down's prompt lookups and the dataset exports read it.
    items_name = store_items(
        dataset.slug,
        dataset.version,
        sha,
        dataset.columns,
        references=private_path is None,  # private references never leave the private file
    )
    return DatasetVersion.objects.create(
        dataset=bench,
        version=dataset.version,
        sha256=sha,
        item_count=len(dataset.items),
        file=stored,
        private_file=private_stored,
        references_private=private_path is not None,
        items_file=items_name,
        open_ended_items=open_ended_count(dataset.columns),
    )


def _check_same_content(existing: DatasetVersion, sha: str, private_path: Path | None) -> None:
    if existing.sha256 != sha:
        raise DatasetVersionConflict(
            f"{existing} is already registered with sha256 {existing.sha256}, and this file's is "
            f"{sha}. Dataset versions are immutable (bundles name them by checksum): register "
            "the new content under a new version."
        )
    if private_path is None:
        return
    if not existing.references_private:
        raise DatasetVersionConflict(
            f"{existing} is registered with public references; it cannot take a private file."
        )
    stored_sha, _ = hash_stored(existing.private_file.name)
    if stored_sha != dataset_sha256(private_path):
        raise DatasetVersionConflict(
            f"{existing} is already registered with other private references "
            f"(sha256 {stored_sha}). Dataset versions are immutable: use a new version."
        )


# Datasets kept loaded in a process between tasks, counted in items: a million-item version is
# ~200 MB resident, so a worker that scored two big versions in turn must not hold both.
MAX_CACHED_ITEMS = 1_000_000
_loaded: OrderedDict[tuple[str, str, str], Dataset] = OrderedDict()
_loading = threading.Lock()


def engine_dataset(version: DatasetVersion) -> Dataset:
    """The engine's view of a registered version (with private references), cached per process:
    the most recently used versions up to ``MAX_CACHED_ITEMS`` items in all; the others are
    dropped before a version is loaded, so two big ones are never resident together."""
    key = (version.sha256, version.file.name, version.private_file.name or "")
    with _loading:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        while _loaded and (
            sum(len(d.items) for d in _loaded.values()) + version.item_count > MAX_CACHED_ITEMS
        ):
            _loaded.popitem(last=False)
        dataset = _load(*key)
        _loaded[key] = dataset
        return dataset


def _load(sha: str, name: str, private_name: str) -> Dataset:
    # Versions are immutable, so the SHA-256 names the local copy; files are kept on local disk
    # so a worker downloads each version from S3 once.
    cache = Path(settings.DATA_DIR) / "cache" / "datasets"
    cache.mkdir(parents=True, exist_ok=True)
    local = _cached_file(cache / f"{sha}.jsonl", name)
    if dataset_sha256(local) != sha:
        local.unlink()
        raise RuntimeError(f"stored dataset file {name} does not match its SHA-256 {sha}")
    if private_name:
        private = _cached_file(cache / f"{sha}.private.jsonl", private_name)
        return load_dataset(local, private=private)
    return load_dataset(local)


def _cached_file(target: Path, name: str) -> Path:
    if not target.exists():
        with local_copy(name) as tmp:
            tmp.replace(target)
    return target
