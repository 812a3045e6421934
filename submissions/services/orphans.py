"""Stored files that no row points at: bundles, per-query result files and dataset item files.

Every writer stores its file before it inserts (or updates) the row that names it, so a row never
points at nothing; a crash or database outage in between leaves a file behind. So do per-query
files a recorder could not delete after its transaction failed. The periodic sweep deletes such
files once they are old enough that no writer can still be about to claim them.

One table (``KINDS``) says where each kind of file lives and which rows own it; the sweep itself is
written once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from ..models import DatasetVersion, DirectUpload, Evaluation, Submission
from .perquery import ITEMS_PREFIX, RESULTS_PREFIX

log = logging.getLogger(__name__)
CHUNK = 500


def _bundles(names: list[str]) -> set[str]:
    owned = set(Submission.objects.filter(bundle__in=names).values_list("bundle", flat=True))
    return owned | set(DirectUpload.objects.filter(key__in=names).values_list("key", flat=True))


def _results(names: list[str]) -> set[str]:
    return set(
        Evaluation.objects.filter(queries_file__in=names).values_list("queries_file", flat=True)
    )


def _items(names: list[str]) -> set[str]:
    return set(
        DatasetVersion.objects.filter(items_file__in=names).values_list("items_file", flat=True)
    )


@dataclass(frozen=True)
class Kind:
    prefix: str  # the storage folder the writer uses
    owned: Callable[[list[str]], set[str]]  # which of these stored names a row points at


KINDS: tuple[Kind, ...] = (
    Kind("bundles", _bundles),
    Kind(RESULTS_PREFIX, _results),  # perquery/<submission>/<uuid>.parquet
    Kind(ITEMS_PREFIX, _items),  # dataset-items/<slug>/<version>-<sha>.parquet
)


def _walk(prefix: str) -> Iterator[str]:
    """Every stored name under ``prefix``, folders included (a storage's listdir is one level)."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, OSError):
        return  # nothing stored yet
    yield from (f"{prefix}/{name}" for name in files)
    for sub in dirs:
        yield from _walk(f"{prefix}/{sub}")


def _purge(kind: Kind, cutoff: datetime) -> int:
    removed = 0
    names = list(_walk(kind.prefix))
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        owned = kind.owned(chunk)
        for name in chunk:
            if name in owned:
                continue
            try:
                if default_storage.get_modified_time(name) < cutoff:
                    default_storage.delete(name)
                    removed += 1
                    log.info("deleted orphan file %s", name)
            except (FileNotFoundError, OSError):
                log.warning("could not inspect or delete %s", name, exc_info=True)
    return removed


def purge_orphans(older_than_s: float) -> dict[str, int]:
    """Delete stored files no row owns, untouched for ``older_than_s``; counts by prefix."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return {kind.prefix: _purge(kind, cutoff) for kind in KINDS}
