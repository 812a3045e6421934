"""Direct-to-S3 uploads for large bundles: start (presigned part URLs), resume, finalise, abort.

The client PUTs parts straight to the bucket, so the web process never carries the bytes. The
finalise call completes the multipart upload, streams the object once to hash it, and then goes
through the same checks and the same ``queue_stored_bundle`` as a streamed upload.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from evaluator.errors import BundleError, register

from .. import codes
from ..models import DirectUpload, Organisation, Submission
from ..storage import hash_stored, is_s3, s3_key
from .accounts import ActionError
from .intake import check_upload, queue_stored_bundle

log = logging.getLogger(__name__)

UPLOAD_SIZE_MISMATCH = register(
    "upload.size_mismatch", "The object uploaded to storage is not the size declared at start."
)
UPLOAD_INCOMPLETE = register(
    "upload.incomplete", "Some parts of the direct upload are missing; upload them and retry."
)

S3_MIN_PART = 5 * 1024**2  # S3's minimum size for every part but the last
S3_MAX_PARTS = 10_000


@dataclass(frozen=True)
class PresignedPart:
    part_number: int
    url: str
    size: int


def direct_uploads_available() -> bool:
    return is_s3()


def _client() -> Any:
    return default_storage.connection.meta.client


def _bucket() -> str:
    return str(default_storage.bucket_name)


def start_direct_upload(
    owner: AbstractBaseUser, *, filename: str, size: int
) -> tuple[DirectUpload, list[PresignedPart]]:
    """Open a multipart upload for a bundle of ``size`` bytes and presign every part's PUT."""
    if not direct_uploads_available():
        raise ActionError(
            "upload.direct_unavailable",
            "This server stores files locally: upload through POST /api/v1/submissions/.",
            409,
        )
    if size <= 0:
        raise BundleError(codes.UPLOAD_EMPTY, "The bundle to upload is empty.")
    if size > settings.IPWBOARD_MAX_UPLOAD_BYTES:
        raise BundleError(
            codes.UPLOAD_TOO_LARGE,
            f"The bundle is {size} bytes; the limit is {settings.IPWBOARD_MAX_UPLOAD_BYTES}.",
        )
    part_size = max(
        settings.IPWBOARD_DIRECT_UPLOAD_PART_BYTES, S3_MIN_PART, math.ceil(size / S3_MAX_PARTS)
    )
    upload = DirectUpload(
        owner=owner,
        filename=filename[:255],
        size=size,
        part_size=part_size,
        expires_at=timezone.now()
        + timedelta(seconds=settings.IPWBOARD_DIRECT_UPLOAD_EXPIRE_SECONDS),
    )
    upload.key = f"bundles/{upload.id}.ipwb"
    created = _client().create_multipart_upload(
        Bucket=_bucket(), Key=s3_key(upload.key), ContentType="application/zip"
    )
    upload.s3_upload_id = created["UploadId"]
    upload.save()
    return upload, presign_parts(upload)


def part_count(upload: DirectUpload) -> int:
    return max(1, math.ceil(upload.size / upload.part_size))


def presign_parts(upload: DirectUpload, numbers: list[int] | None = None) -> list[PresignedPart]:
    """Presigned PUT URLs for the given part numbers (default: all), valid until expiry."""
    total = part_count(upload)
    expires = max(60, int((upload.expires_at - timezone.now()).total_seconds()))
    client = _client()
    parts = []
    for number in numbers or range(1, total + 1):
        if not 1 <= number <= total:
            continue
        url = client.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": _bucket(),
                "Key": s3_key(upload.key),
                "UploadId": upload.s3_upload_id,
                "PartNumber": number,
            },
            ExpiresIn=expires,
            HttpMethod="PUT",
        )
        size = min(upload.part_size, upload.size - (number - 1) * upload.part_size)
        parts.append(PresignedPart(number, url, size))
    return parts


def uploaded_parts(upload: DirectUpload) -> list[dict[str, Any]]:
    """The parts S3 already holds (for resuming): part number, ETag and size."""
    if upload.state != DirectUpload.State.OPEN:
        return []
    client = _client()
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        page = client.list_parts(
            Bucket=_bucket(),
            Key=s3_key(upload.key),
            UploadId=upload.s3_upload_id,
            PartNumberMarker=marker,
        )
        parts += [
            {"part_number": p["PartNumber"], "etag": p["ETag"], "size": p["Size"]}
            for p in page.get("Parts", [])
        ]
        if not page.get("IsTruncated"):
            return parts
        marker = page["NextPartNumberMarker"]


def _check_owner(upload: DirectUpload, actor: AbstractBaseUser) -> None:
    if upload.owner_id != actor.pk:
        raise ActionError("not_found", "No such upload.", 404)


def finalise_direct_upload(
    upload: DirectUpload,
    actor: AbstractBaseUser,
    organisation: Organisation | None = None,
    replaces: Submission | None = None,
) -> Submission:
    """Complete the multipart upload, hash the object by streaming it, queue the submission.

    Idempotent: finalising a completed upload returns its submission.
    """
    _check_owner(upload, actor)
    with transaction.atomic():
        locked = DirectUpload.objects.select_for_update().get(pk=upload.pk)
        if locked.state == DirectUpload.State.COMPLETED and locked.submission_id:
            return Submission.objects.get(pk=locked.submission_id)
        if locked.state == DirectUpload.State.ABORTED:
            raise ActionError("upload.aborted", "This upload was aborted; start a new one.", 409)
        if locked.state == DirectUpload.State.OPEN:
            _complete(locked)
    # Outside the lock: hashing a large object takes a while. A crash here leaves the upload
    # COMPLETED without a submission, and the next finalise call picks it up from this point.
    try:
        sha, size = hash_stored(locked.key)
        if size != locked.size:
            raise BundleError(
                UPLOAD_SIZE_MISMATCH, f"Declared {locked.size} bytes, stored {size} bytes."
            )
        check_upload(sha, size)
    except BundleError:
        default_storage.delete(locked.key)
        DirectUpload.objects.filter(pk=locked.pk).update(state=DirectUpload.State.ABORTED)
        raise
    try:
        submission = queue_stored_bundle(
            owner=locked.owner,
            submission_id=locked.id,
            name=locked.key,
            sha256=sha,
            size=size,
            filename=locked.filename or "bundle.ipwb",
            organisation=organisation,
            replaces=replaces,
        )
    except IntegrityError:  # a concurrent finalise call queued it first
        return Submission.objects.get(pk=locked.id)
    DirectUpload.objects.filter(pk=locked.pk).update(submission=submission)
    return submission


def _complete(upload: DirectUpload) -> None:
    parts = uploaded_parts(upload)
    expected = part_count(upload)
    if len(parts) != expected or sum(p["size"] for p in parts) != upload.size:
        raise BundleError(
            UPLOAD_INCOMPLETE,
            f"S3 holds {len(parts)} of {expected} parts "
            f"({sum(p['size'] for p in parts)} of {upload.size} bytes).",
        )
    _client().complete_multipart_upload(
        Bucket=_bucket(),
        Key=s3_key(upload.key),
        UploadId=upload.s3_upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": p["part_number"], "ETag": p["etag"]} for p in parts]
        },
    )
    upload.state = DirectUpload.State.COMPLETED
    upload.save(update_fields=["state"])


def abort_direct_upload(upload: DirectUpload, actor: AbstractBaseUser) -> None:
    _check_owner(upload, actor)
    if upload.state != DirectUpload.State.OPEN:
        return
    _abort(upload)


def _abort(upload: DirectUpload) -> None:
    try:
        _client().abort_multipart_upload(
            Bucket=_bucket(), Key=s3_key(upload.key), UploadId=upload.s3_upload_id
        )
    except Exception:  # already gone on the S3 side: the row is what matters
        log.warning("aborting multipart upload %s failed", upload.pk, exc_info=True)
    DirectUpload.objects.filter(pk=upload.pk, state=DirectUpload.State.OPEN).update(
        state=DirectUpload.State.ABORTED
    )


def expire_direct_uploads() -> int:
    """Abort the open multipart uploads past their expiry (run by the sweeper).

    A client that starts a direct upload and walks away leaves parts in the bucket that S3 keeps,
    and bills, until the upload is completed or aborted; nothing else would ever remove them.
    """
    if not direct_uploads_available():
        return 0
    expired = list(
        DirectUpload.objects.filter(state=DirectUpload.State.OPEN, expires_at__lt=timezone.now())
    )
    for upload in expired:
        _abort(upload)
    if expired:
        log.info("aborted %d expired direct upload(s)", len(expired))
    return len(expired)
