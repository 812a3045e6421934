"""Re-scoring: run the engine again on a stored bundle; record a new Evaluation when the rules changed.

An Evaluation is keyed by (submission, scorer_version) and never overwritten or deleted: re-scoring
with a new scorer version (or with a judge, see :mod:`.judging`) *adds* a row, with its per-query
file, through the one recorder (:mod:`.recorder`), and points ``Submission.current_evaluation`` at it. Re-scoring with the rules that already
produced an evaluation is a no-op, detected before the engine runs.

Only SCORED submissions are re-scored. The bundle's server-side admission (key validity at upload
time, challenge, replay fingerprints) was decided when it was accepted and is not re-litigated; the
engine's own checks do run again, and if a newer engine now refuses the bundle the submission keeps
its current evaluation and the refusal is logged and audited for staff.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from evaluator import scoring
from evaluator.errors import BundleError

from ..models import AuditLog, DatasetVersion, Submission
from ..signals import board_changed
from ..storage import local_copy
from .judging import JUDGE_MARK, configured_judge, has_open_ended, judged_result, versioned

# The pipeline's own engine call: re-scoring runs exactly what the first scoring ran, and records
# through the same recorder (metrics, checks, labels, flags, per-query file).
from .pipeline import _evaluate
from .queue import enqueue_rescore_submission, enqueue_rescore_version
from .recorder import adopt

log = logging.getLogger(__name__)

Outcome = Literal["created", "unchanged", "skipped", "refused"]


@dataclass(frozen=True)
class RescoreOutcome:
    submission_id: str
    outcome: Outcome
    scorer_version: str
    detail: str = ""


@dataclass(frozen=True)
class RescorePlan:
    """What re-scoring a dataset version would do right now."""

    scorer_version: str  # the version a re-score records (complete judging assumed)
    total: int  # scored submissions of the version
    pending: int  # those a re-score would change
    current: int  # those with an evaluation under ``scorer_version`` already

    @property
    def noop(self) -> bool:
        return self.pending == 0

    @property
    def held(self) -> int:
        """Judged before, and no judge is configured now: left as they are."""
        return self.total - self.pending - self.current


def target_scorer_version(version: DatasetVersion | None) -> str:
    """The scorer version a (complete) re-score of a submission on ``version`` would record."""
    return versioned(scoring.SCORER_VERSION, configured_judge(), open_ended=has_open_ended(version))


def _judge_dropped(version: DatasetVersion | None) -> bool:
    """Would a re-score now leave open-ended items unscored that a judge may have scored?"""
    return configured_judge() is None and has_open_ended(version)


def _pending(submissions: QuerySet[Submission], version: DatasetVersion | None) -> QuerySet:
    """The submissions a re-score would change. Never downgrades: with no judge configured, one
    whose current evaluation was judged is left as it is (configure the judge to re-score it)."""
    pending = submissions.exclude(evaluations__scorer_version=target_scorer_version(version))
    if _judge_dropped(version):
        pending = pending.exclude(current_evaluation__scorer_version__contains=JUDGE_MARK)
    return pending


def rescore_submission(submission_id: uuid.UUID | str) -> RescoreOutcome:
    """Re-run the engine on a scored submission's bundle. Safe to run twice, or concurrently."""
    submission = Submission.objects.select_related("dataset_version").get(pk=submission_id)
    sid = str(submission.pk)
    if submission.status != Submission.Status.SCORED:
        return RescoreOutcome(
            sid,
            "skipped",
            "",
            f"only scored submissions are re-scored; this one is {submission.status}",
        )
    version = submission.dataset_version
    target = target_scorer_version(version)
    if submission.evaluations.filter(scorer_version=target).exists():
        return RescoreOutcome(sid, "unchanged", target, "already evaluated with these rules")
    if not _pending(Submission.objects.filter(pk=submission.pk), version).exists():
        return RescoreOutcome(
            sid, "skipped", target, "judged before, and no judge is configured now"
        )
    try:
        with local_copy(submission.bundle.name) as path:
            result = _evaluate(submission, path, configured_judge())
    except BundleError as error:
        log.warning("re-scoring %s: the engine now refuses the bundle: %s", sid, error.code)
        _audit(sid, "refused", target, code=error.code, message=error.message)
        return RescoreOutcome(sid, "refused", target, f"{error.code}: {error.message}")

    try:
        with transaction.atomic():
            locked = Submission.objects.select_for_update().get(pk=submission.pk)
            if locked.status != Submission.Status.SCORED:
                return RescoreOutcome(sid, "skipped", result.scorer_version, "no longer scored")
            if locked.evaluations.filter(scorer_version=result.scorer_version).exists():
                # E.g. the judge failed again: the partial evaluation it would record exists.
                return RescoreOutcome(sid, "unchanged", result.scorer_version, "no new evaluation")
            previous = locked.current_evaluation_id
            evaluation = adopt(locked, result)
            _audit(
                sid,
                "created",
                result.scorer_version,
                evaluation=evaluation.pk,
                previous_evaluation=previous,
                accuracy=evaluation.accuracy,
            )
            transaction.on_commit(lambda: board_changed.send(Submission, submission_id=locked.pk))
            return RescoreOutcome(
                sid, "created", result.scorer_version, f"evaluation {evaluation.pk}"
            )
    except IntegrityError:  # a concurrent re-score recorded the same version first
        return RescoreOutcome(sid, "unchanged", result.scorer_version, "recorded concurrently")


def complete_judging(submission_id: uuid.UUID | str) -> RescoreOutcome:
    """JUDGING -> SCORED: judge the open-ended items and publish (the "scoring" queue's job).

    Only the stored open-ended responses are judged, read from the recorded evaluation's
    per-query file (``.judging.judged_result``: no engine pass over the bundle); the judge's
    verdicts are cached, so a retried task pays only for what it had not judged. Safe to run twice
    or concurrently: the first to commit publishes, the others find the row SCORED. If the judge
    was turned off since, the submission is published with those items unscored, as it would have
    been without a judge.
    """
    submission = Submission.objects.select_related("dataset_version", "current_evaluation").get(
        pk=submission_id
    )
    sid = str(submission.pk)
    if submission.status != Submission.Status.JUDGING:
        return RescoreOutcome(sid, "skipped", "", f"not waiting for a judge: {submission.status}")
    Submission.objects.filter(pk=submission.pk, status=Submission.Status.JUDGING).update(
        started_at=timezone.now()  # the sweeper's clock: a live judging task is not stale
    )
    judge = configured_judge()
    result = judged_result(submission, judge) if judge is not None else None
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.status != Submission.Status.JUDGING:
            return RescoreOutcome(sid, "skipped", "", "published by another run")
        locked.status = Submission.Status.SCORED
        locked.finished_at = timezone.now()
        version = locked.current_evaluation.scorer_version if locked.current_evaluation else ""
        if result is None:
            locked.save(update_fields=["status", "finished_at"])
            outcome = RescoreOutcome(sid, "unchanged", version, "no judge configured any more")
        elif locked.evaluations.filter(scorer_version=result.scorer_version).exists():
            locked.save(update_fields=["status", "finished_at"])
            outcome = RescoreOutcome(sid, "unchanged", result.scorer_version, "already judged")
        else:
            evaluation = adopt(locked, result)
            outcome = RescoreOutcome(
                sid, "created", result.scorer_version, f"evaluation {evaluation.pk}"
            )
        transaction.on_commit(lambda: board_changed.send(Submission, submission_id=locked.pk))
        return outcome


def _audit(submission_id: str, outcome: str, version: str, **detail: object) -> None:
    AuditLog.objects.create(
        actor=None,
        action="submission.rescore",
        target=submission_id,
        detail={"outcome": outcome, "scorer_version": version, **detail},
    )


def rescorable(version: DatasetVersion) -> QuerySet[Submission]:
    return Submission.objects.filter(dataset_version=version, status=Submission.Status.SCORED)


def rescore_plan(version: DatasetVersion) -> RescorePlan:
    target = target_scorer_version(version)
    submissions = rescorable(version)
    return RescorePlan(
        scorer_version=target,
        total=submissions.count(),
        pending=_pending(submissions, version).count(),
        current=submissions.filter(evaluations__scorer_version=target).count(),
    )


def schedule_dataset_rescore(version: DatasetVersion) -> RescorePlan:
    """Staff action: re-score every scored submission of ``version`` in the background."""
    plan = rescore_plan(version)
    if not plan.noop:
        pk = version.pk
        transaction.on_commit(lambda: enqueue_rescore_version(pk))
    return plan


def schedule_submission_rescores(submissions: QuerySet[Submission]) -> tuple[int, int]:
    """Staff action: queue re-scoring of the scored ones that it would change.
    Returns (queued, left as they are)."""
    queued = unchanged = 0
    for submission in submissions.filter(status=Submission.Status.SCORED).select_related(
        "dataset_version"
    ):
        one = Submission.objects.filter(pk=submission.pk)
        if not _pending(one, submission.dataset_version).exists():
            unchanged += 1
            continue
        pk = str(submission.pk)
        transaction.on_commit(lambda pk=pk: enqueue_rescore_submission(pk))
        queued += 1
    return queued, unchanged


def fan_out_dataset_rescore(version_id: int) -> int:
    """The background half of :func:`schedule_dataset_rescore`: one task per submission."""
    version = DatasetVersion.objects.get(pk=version_id)
    ids = _pending(rescorable(version), version).values_list("pk", flat=True).order_by("created_at")
    count = 0
    for pk in ids.iterator():
        enqueue_rescore_submission(pk)
        count += 1
    return count
