"""Intake: an uploaded bundle is stored, refused outright, or queued for a worker.

Refusals here are the ones that need no engine: an empty or oversized file, or the very same file
already queued or accepted. Everything else is the worker's (``pipeline``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from evaluator.errors import BundleError

from .. import codes
from ..models import Organisation, Submission
from ..storage import hash_stream, save_stream
from .queue import enqueue

_OPEN_STATUSES = (
    Submission.Status.QUEUED,
    Submission.Status.RUNNING,
    Submission.Status.JUDGING,
    Submission.Status.SCORED,
)


def create_submission(
    *,
    owner: AbstractBaseUser,
    stream: BinaryIO,
    filename: str = "bundle.ipwb",
    organisation: Organisation | None = None,
    replaces: Submission | None = None,
) -> Submission:
    """Store an uploaded bundle and queue it. Raises BundleError for uploads we refuse outright."""
    sha, size = hash_stream(stream)
    check_upload(sha, size)
    submission_id = uuid.uuid4()
    # Stored before the row exists: a crash in between leaves an orphan file (swept), never a row
    # pointing at nothing.
    name = save_stream(f"bundles/{submission_id}.ipwb", stream)
    return queue_stored_bundle(
        owner=owner,
        submission_id=submission_id,
        name=name,
        sha256=sha,
        size=size,
        filename=filename,
        organisation=organisation,
        replaces=replaces,
    )


def check_upload(sha: str, size: int) -> None:
    """Refuse empty, oversized and already-open bundles before they are queued."""
    if size == 0:
        raise BundleError(codes.UPLOAD_EMPTY, "The uploaded file is empty.")
    if size > settings.IPWBOARD_MAX_UPLOAD_BYTES:
        raise BundleError(
            codes.UPLOAD_TOO_LARGE,
            f"The bundle is {size} bytes; the limit is {settings.IPWBOARD_MAX_UPLOAD_BYTES}.",
        )
    duplicate = Submission.objects.filter(bundle_sha256=sha, status__in=_OPEN_STATUSES).first()
    if duplicate is not None:
        # The id is not in the message: someone else's submission is none of the uploader's
        # business (the API adds ``submission_id`` to the body only for its owner).
        raise ReplayBundleError(
            "This exact bundle file was already submitted and is queued or accepted; "
            "re-run the benchmark to submit new measurements.",
            submission_id=duplicate.id,
            owner_id=duplicate.owner_id,
        )


class ReplayBundleError(BundleError):
    """``bundle.replay.bundle`` naming the open submission it repeats, so the API can hand its id
    back to the owner (a client whose first upload was stored but whose response was lost)."""

    def __init__(self, message: str, *, submission_id: uuid.UUID, owner_id: Any) -> None:
        super().__init__(codes.REPLAY_BUNDLE, message)
        self.submission_id = submission_id
        self.owner_id = owner_id


def queue_stored_bundle(
    *,
    owner: AbstractBaseUser,
    submission_id: uuid.UUID,
    name: str,
    sha256: str,
    size: int,
    filename: str = "bundle.ipwb",
    organisation: Organisation | None = None,
    replaces: Submission | None = None,
) -> Submission:
    """The one path that creates a QUEUED submission for a bundle already in storage (streamed
    through the API or uploaded straight to S3) and sends it to a worker after commit."""
    if organisation is not None and not organisation.members.filter(pk=owner.pk).exists():
        organisation = None  # the API refuses this earlier; never credit a stranger's org
    with transaction.atomic():
        submission = Submission.objects.create(
            id=submission_id,
            owner=owner,
            organisation=organisation,
            bundle=name,
            bundle_sha256=sha256,
            bundle_size=size,
            original_filename=Path(filename).name[:255],
            replaces=replaces,
        )
        transaction.on_commit(lambda: enqueue(submission.id))
    return submission
