"""Stored bundle files that no row points at.

``create_submission`` stores the file before it inserts the row (so a row never points at nothing);
a crash or database outage in between leaves a file behind. The periodic sweep deletes such files
once they are old enough that no upload can still be about to claim them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from ..models import DirectUpload, Submission

log = logging.getLogger(__name__)
PREFIX = "bundles"
CHUNK = 500


def purge_orphan_bundles(older_than_s: float) -> int:
    """Delete bundle files with no Submission and no DirectUpload, untouched for ``older_than_s``."""
    try:
        _dirs, files = default_storage.listdir(PREFIX)
    except (FileNotFoundError, OSError):
        return 0  # nothing stored yet
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    names = [f"{PREFIX}/{name}" for name in files]
    removed = 0
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        owned = set(Submission.objects.filter(bundle__in=chunk).values_list("bundle", flat=True))
        owned |= set(DirectUpload.objects.filter(key__in=chunk).values_list("key", flat=True))
        for name in chunk:
            if name in owned:
                continue
            try:
                if default_storage.get_modified_time(name) < cutoff:
                    default_storage.delete(name)
                    removed += 1
                    log.info("deleted orphan bundle file %s", name)
            except (FileNotFoundError, OSError):
                log.warning("could not inspect or delete %s", name, exc_info=True)
    return removed
