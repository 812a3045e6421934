"""Correcting a submission: its owner re-submits the same measured run with corrected metadata.

A run id is spent once accepted (the replay check), so a submitter who packed with the wrong
hardware name could not fix it. Instead the new upload names the accepted submission it replaces
(``ipwboard submit --supersedes ID``); the worker honours that only for the same measured run (same
run id, same measured members: only ``manifest.json`` may differ), takes over ALL the old
submission's fingerprints (so the run stays spent, whatever fingerprint kinds exist) and marks the
old one superseded in the same transaction as the new one's recording. The old permalink then
leads to the new submission; the board shows only the new row.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from evaluator.errors import BundleError
from evaluator.manifest import MANIFEST_NAME
from evaluator.types import EvaluationResult

from .. import codes
from ..models import Fingerprint, Submission
from ..signals import board_changed
from .accounts import ActionError

# Accepted: recorded by a worker (ranked, held for review or being judged).
_ACCEPTED = (Submission.Status.SCORED, Submission.Status.JUDGING)


def _why_not(old: Submission | None, owner_id: Any) -> str:
    """Why ``old`` cannot be superseded by its owner ``owner_id`` now ("" when it can)."""
    if old is None or old.owner_id != owner_id:
        return "you have no submission with this id"
    if old.status not in _ACCEPTED:
        return f"it is {old.status}, not accepted: submit the run normally"
    if old.withdrawn_at is not None:
        return "it was withdrawn: its run id is spent"
    if old.superseded_by_id is not None:
        return f"it was already replaced by {old.superseded_by_id}; supersede that one"
    return ""


def target_for_upload(owner: AbstractBaseUser, submission_id: Any) -> Submission | None:
    """The submission an upload asks to replace, checked at upload time (refused at once, 409,
    rather than after the worker's run). ``None`` when the upload replaces nothing."""
    if not submission_id:
        return None
    try:
        old = Submission.objects.filter(pk=uuid.UUID(str(submission_id))).first()
    except ValueError:  # not a UUID: no submission of anyone's
        old = None
    reason = _why_not(old, owner.pk)
    if reason:
        raise ActionError(
            codes.SUPERSEDE_NOT_ALLOWED, f"Cannot supersede {submission_id}: {reason}.", 409
        )
    return old


def take_over(submission: Submission, result: EvaluationResult) -> None:
    """In the worker, inside the recording transaction, before the new fingerprints are claimed:
    if ``submission`` asked to replace an accepted submission of the same run, move all of that
    one's fingerprints to ``submission`` and mark it superseded. A BundleError rejects the new
    upload (the transaction, and with it the move, is rolled back)."""
    if submission.replaces_id is None:
        return
    old = Submission.objects.select_for_update().filter(pk=submission.replaces_id).first()
    reason = _why_not(old, submission.owner_id)
    if reason:
        raise BundleError(
            codes.SUPERSEDE_MISMATCH,
            f"This upload asked to supersede {submission.replaces_id}, but {reason}.",
        )
    assert old is not None
    info = result.bundle
    taken = set(
        Fingerprint.objects.filter(submission=old, kind=Fingerprint.Kind.MEMBER).values_list(
            "value", flat=True
        )
    )
    measured = {name: sha for name, sha in info.member_sha256.items() if name != MANIFEST_NAME}
    if old.run_id != info.run_id or not set(measured.values()) <= taken:
        raise BundleError(
            codes.SUPERSEDE_MISMATCH,
            f"Submission {old.pk} is another measured run: superseding keeps the run id and every "
            "measured member (queries.parquet, trace.parquet) byte for byte; only manifest.json "
            "may change. Re-pack the same run with corrected metadata (`--set`, `--hardware`).",
            file=MANIFEST_NAME,
            field="run_id",
        )
    if len(taken) != len(measured) + 1:  # + the old manifest: a trace was added or dropped
        raise BundleError(
            codes.SUPERSEDE_MISMATCH,
            f"Submission {old.pk} has a different set of members (a trace added or dropped): "
            "superseding keeps the same measured members.",
            file=MANIFEST_NAME,
        )
    Fingerprint.objects.filter(submission=old).update(submission=submission)
    old.superseded_by = submission
    old.save(update_fields=["superseded_by"])  # post_save: the board drops the old row
    transaction.on_commit(lambda: board_changed.send(Submission, submission_id=old.pk))
