"""The periodic sweeper (Celery beat): nothing accepted is left waiting forever.

Re-enqueues submissions whose task the broker lost or whose worker died, and clears what killed
workers and abandoned uploads leave behind (scratch copies, orphan bundle and per-query files, open multipart
uploads).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import Submission
from ..storage import purge_stale_work
from .orphans import purge_orphans
from .queue import enqueue, enqueue_judging
from .uploads import expire_direct_uploads


def sweep_stale_submissions() -> int:
    """Re-enqueue QUEUED rows the broker may have lost and RUNNING (or JUDGING) rows whose worker
    died."""
    now = timezone.now()
    queued_before = now - timedelta(seconds=settings.IPWBOARD_STALE_QUEUED_SECONDS)
    running_before = now - timedelta(seconds=settings.IPWBOARD_STALE_RUNNING_SECONDS)
    stale = Submission.objects.filter(
        Q(status=Submission.Status.QUEUED, created_at__lt=queued_before)
        | Q(status=Submission.Status.RUNNING, started_at__lt=running_before)
    ).values_list("pk", flat=True)
    count = 0
    for pk in stale:
        enqueue(pk)
        count += 1
    # Judging tasks the broker lost, or whose worker died (a live one refreshes started_at).
    unjudged = Submission.objects.filter(
        status=Submission.Status.JUDGING, started_at__lt=running_before
    ).values_list("pk", flat=True)
    for pk in unjudged:
        enqueue_judging(pk)
        count += 1
    # Scratch copies left by killed workers on this host (a live task is never that old).
    purge_stale_work(settings.IPWBOARD_STALE_RUNNING_SECONDS)
    purge_orphans(settings.IPWBOARD_ORPHAN_FILE_SECONDS)
    expire_direct_uploads()
    return count
