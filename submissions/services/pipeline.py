"""The submission pipeline: upload -> queue -> claim -> evaluate -> record (or reject / fail).

Every state change is a conditional update or happens under ``select_for_update``, so a task that
runs twice (acks_late redelivery, a sweeper re-enqueue, two workers) changes nothing the second time.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.fingerprint import LENGTH_TOLERANCE, parse_fingerprint, traces_similar
from evaluator.keys import decode_public_key
from evaluator.scoring import Judge
from evaluator.types import Check, Dataset, EvaluationResult

from .. import codes
from ..models import (
    DatasetVersion,
    Evaluation,
    Fingerprint,
    Organisation,
    QueryResult,
    SigningKey,
    Submission,
    TracePreview,
)
from ..signals import board_changed
from ..storage import hash_stream, local_copy, save_stream
from .catalog import engine_dataset, resolve_hardware, resolve_model
from .identity import consume_challenge
from .judging import configured_judge, has_open_ended, stamp_judge

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
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
        )
        transaction.on_commit(lambda: enqueue(submission.id))
    return submission


def enqueue(submission_id: uuid.UUID) -> None:
    """Send the task; if the broker is down the row stays QUEUED and the sweeper retries later."""
    from ..tasks import evaluate_submission

    try:
        evaluate_submission.delay(str(submission_id))
    except Exception:  # broker unavailable: the upload is stored and will be swept
        log.exception("could not enqueue submission %s; the sweeper will retry", submission_id)


def enqueue_judging(submission_id: uuid.UUID) -> None:
    """Send the judging task (scoring queue); if the broker is down the sweeper retries later."""
    from ..tasks import judge_submission

    try:
        judge_submission.delay(str(submission_id))
    except Exception:  # broker unavailable: the row stays JUDGING and will be swept
        log.exception("could not enqueue judging of %s; the sweeper will retry", submission_id)


def claim_submission(
    submission_id: uuid.UUID | str, *, worker_lost: bool = False
) -> Submission | None:
    """QUEUED -> RUNNING atomically. Also reclaims a RUNNING one whose worker died long ago, or
    at once when ``worker_lost``: Celery saw the process running this very task die."""
    now = timezone.now()
    stale = now if worker_lost else now - timedelta(seconds=settings.IPWBOARD_STALE_RUNNING_SECONDS)
    claimable = Q(status=Submission.Status.QUEUED) | Q(
        status=Submission.Status.RUNNING, started_at__lt=stale
    )
    updated = Submission.objects.filter(claimable, pk=submission_id).update(
        status=Submission.Status.RUNNING, started_at=now, attempts=F("attempts") + 1
    )
    if not updated:
        return None
    submission = Submission.objects.get(pk=submission_id)
    if submission.attempts > MAX_ATTEMPTS:
        fail_submission(submission.pk, codes.INTERNAL, f"gave up after {MAX_ATTEMPTS} attempts")
        return None
    return submission


class DeadlinePassed(Exception):
    """The work finished after its time limit: nothing is recorded (the caller marks it FAILED)."""


def process_submission(
    submission_id: uuid.UUID | str, *, worker_lost: bool = False, deadline: float | None = None
) -> None:
    """The worker's whole job for one submission. Safe to call twice.

    ``deadline`` (``time.monotonic()``) is the task's soft time limit. Celery enforces it with a
    signal whose exception can be lost when it lands in the wrong frame (seen in the fault tests:
    limit signalled at 1 s, result recorded at 2 s); checking it at the commit point makes "over
    the limit means FAILED" hold whatever the signal did.
    """
    submission = claim_submission(submission_id, worker_lost=worker_lost)
    if submission is None:
        return
    # Judge calls are slow network I/O: this (validation) worker never waits on them. Open-ended
    # items stay unscored here and the submission goes JUDGING, for the "scoring" queue.
    judging = configured_judge() is not None
    try:
        with local_copy(submission.bundle.name) as path:
            result = _evaluate(submission, path, judge=None)
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlinePassed(
                f"evaluation finished after the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s limit"
            )
        record_evaluation(submission, result, judging=judging)
    except BundleError as error:
        reject_submission(submission, error)


def _evaluate(submission: Submission, path: Path, judge: Judge | None) -> EvaluationResult:
    """Run the engine on a stored bundle (first scoring, judging and re-scoring alike); the
    caller says which judge, if any, scores the open-ended items."""
    trusted = {
        key.fingerprint: decode_public_key(key.public_key)
        for key in SigningKey.objects.filter(owner_id=submission.owner_id)
    }
    # Unpack beside the local copy: one scratch directory per task, purged if the worker dies.
    result = evaluate(
        path,
        resolve_dataset,
        trusted_keys=trusted,
        judge=judge,
        seed=settings.IPWBOARD_BOOTSTRAP_SEED,
        workdir=path.parent,
    )
    # Which judge scored the open-ended items is part of the Evaluation's key (scorer_version).
    return stamp_judge(result, judge)


def resolve_dataset(spec: Mapping[str, Any]) -> Dataset:
    """The engine's dataset for a manifest's (already verified) ``dataset`` object."""
    return engine_dataset(find_dataset_version(spec))


def find_dataset_version(spec: Mapping[str, Any]) -> DatasetVersion:
    """The registered version a manifest's ``dataset`` object names, or the submitter's error."""
    version = (
        DatasetVersion.objects.select_related("dataset")
        .filter(dataset__slug=str(spec.get("slug", "")), version=str(spec.get("version", "")))
        .first()
    )
    if version is None:
        raise BundleError(
            codes.DATASET_UNKNOWN,
            f"Dataset {spec.get('slug')!r} version {spec.get('version')!r} is not registered on "
            "this server; `ipwboard datasets list` shows the ones that are.",
            file="manifest.json",
            field="dataset",
        )
    return version


def record_evaluation(
    submission: Submission, result: EvaluationResult, *, judging: bool = False
) -> Evaluation | None:
    """Apply the server-side checks and record a scored submission, all in one transaction.

    ``judging``: a judge is configured and ``result`` was computed without it; if the dataset has
    open-ended items the submission is recorded JUDGING and handed to the scoring queue."""
    try:
        with transaction.atomic():
            locked = Submission.objects.select_for_update().get(pk=submission.pk)
            if locked.status != Submission.Status.RUNNING:
                return None  # another run of this task finished it
            evaluation = _record(locked, result, judging=judging)
            if locked.status == Submission.Status.JUDGING:
                transaction.on_commit(lambda: enqueue_judging(locked.pk))
            else:
                transaction.on_commit(
                    lambda: board_changed.send(Submission, submission_id=locked.pk)
                )
            return evaluation
    except BundleError as error:
        reject_submission(submission, error, checks=[c.to_dict() for c in result.checks])
        return None


def _record(submission: Submission, result: EvaluationResult, *, judging: bool) -> Evaluation:
    info = result.bundle
    manifest = dict(info.manifest)
    reference_time = submission.created_at
    if info.challenge:
        challenge = consume_challenge(info.challenge, submission.owner_id, submission.created_at)
        submission.challenge = challenge
        reference_time = challenge.created_at
    elif settings.IPWBOARD_REQUIRE_CHALLENGE:
        raise BundleError(
            codes.CHALLENGE_REQUIRED,
            "This server requires a challenge: run `ipwboard challenge` and pack with it.",
            file="manifest.json",
            field="challenge",
        )
    key = SigningKey.objects.get(fingerprint=info.key_fingerprint)
    if not key.valid_at(reference_time):
        raise BundleError(
            codes.KEY_NOT_VALID,
            f"Key {key.fingerprint} is {key.state}; it was not valid at "
            f"{reference_time.isoformat()}, when this bundle was challenged or uploaded.",
            file="signature.dsse.json",
        )
    _claim_fingerprints(submission, result)

    submission.dataset_version = find_dataset_version(manifest["dataset"])
    submission.model = resolve_model(manifest["model"])
    submission.hardware = resolve_hardware(manifest["hardware"])
    measurement = manifest["measurement"]
    submission.measurement_scope = measurement["scope"]
    submission.measurement_method = measurement["method"]
    submission.sampling_period_s = measurement.get("sampling_period_s")
    submission.quantization = str(manifest["model"].get("quantization") or "")[:50]
    submission.engine = str(manifest["model"].get("engine") or "")[:100]
    harness = manifest.get("harness") or {}
    submission.harness = f"{harness.get('name', '')} {harness.get('version', '')}".strip()[:100]
    submission.synthetic = bool(manifest.get("synthetic"))
    submission.run_id = info.run_id
    submission.key_fingerprint = info.key_fingerprint
    submission.manifest = manifest
    submission.labels = list(result.labels)

    checks = [check.to_dict() for check in result.checks]
    similar = _store_trace_fingerprint(submission, info.trace_fingerprint)
    if similar is not None:
        submission.labels.append("trace-replay-suspect")
        checks.append(
            Check(
                "replay.trace_similar",
                "warn",
                f"The telemetry trace is near-identical in shape to submission {similar}'s: "
                "held for staff review.",
                file="trace.parquet",
            ).to_dict()
        )

    evaluation = _create_evaluation(submission, result)
    if info.trace_preview is not None:
        preview = info.trace_preview
        TracePreview.objects.update_or_create(
            submission=submission,
            defaults={"samples": preview.samples, "t_s": preview.t_s, "power_w": preview.power_w},
        )
    submission.current_evaluation = evaluation
    to_judge = judging and has_open_ended(submission.dataset_version)
    submission.status = Submission.Status.JUDGING if to_judge else Submission.Status.SCORED
    held = result.warned or similar is not None
    submission.review = Submission.Review.PENDING if held else Submission.Review.NONE
    submission.report = {"checks": checks}
    submission.error_code = ""
    submission.finished_at = timezone.now()
    submission.save()
    return evaluation


def _store_trace_fingerprint(submission: Submission, fingerprint: str | None) -> str | None:
    """Record the trace's shape; return the id of an accepted submission whose trace matches."""
    if not fingerprint:
        return None
    samples = parse_fingerprint(fingerprint).samples
    submission.trace_fingerprint = fingerprint
    submission.trace_samples = samples
    margin = int(samples * LENGTH_TOLERANCE) + 1
    candidates = (
        Submission.objects.exclude(pk=submission.pk)
        .filter(
            status=Submission.Status.SCORED,
            trace_samples__gte=samples - margin,
            trace_samples__lte=samples + margin,
        )
        .values_list("pk", "trace_fingerprint")
    )
    return next(
        (str(pk) for pk, other in candidates.iterator() if traces_similar(fingerprint, other)),
        None,
    )


def _claim_fingerprints(submission: Submission, result: EvaluationResult) -> None:
    info = result.bundle
    wanted = [
        (Fingerprint.Kind.BUNDLE, info.bundle_sha256, codes.REPLAY_BUNDLE),
        (Fingerprint.Kind.RUN, info.run_id, codes.REPLAY_RUN),
        *(
            (Fingerprint.Kind.MEMBER, sha, codes.REPLAY_MEMBER)
            for sha in info.member_sha256.values()
        ),
    ]
    for kind, value, code in wanted:
        try:
            with transaction.atomic():  # savepoint: a clash must not poison the outer transaction
                Fingerprint.objects.create(kind=kind, value=value, submission=submission)
        except IntegrityError:
            raise BundleError(
                code,
                f"Replay: this bundle's {kind} digest {value[:16]}… was already accepted in "
                "another submission. Re-run the benchmark to submit new measurements.",
            ) from None


def _create_evaluation(submission: Submission, result: EvaluationResult) -> Evaluation:
    m = result.metrics
    evaluation = Evaluation.objects.create(
        submission=submission,
        scorer_version=result.scorer_version,
        n_queries=m.n_queries,
        n_scored=m.n_scored,
        n_correct=m.n_correct,
        accuracy=m.accuracy,
        accuracy_low=m.accuracy_ci.low,
        accuracy_high=m.accuracy_ci.high,
        ipw=m.ipw,
        ipw_low=m.ipw_ci.low,
        ipw_high=m.ipw_ci.high,
        ipj=m.ipj,
        ipj_low=m.ipj_ci.low,
        ipj_high=m.ipj_ci.high,
        mean_power_w=m.mean_power_w,
        mean_energy_j=m.mean_energy_j,
        total_energy_j=m.total_energy_j,
        energy_per_1k_output_tokens_j=m.energy_per_1k_output_tokens_j,
        throughput_tok_s=m.throughput_tok_s,
        ttft_p50_s=m.ttft_p50_s,
        ttft_p95_s=m.ttft_p95_s,
        latency_p50_s=m.latency_p50_s,
        latency_p95_s=m.latency_p95_s,
        claimed_accuracy=result.claimed_accuracy,
        per_domain={name: vars(dm) for name, dm in m.per_domain.items()},
        checks=[check.to_dict() for check in result.checks],
        labels=list(result.labels),
    )
    QueryResult.objects.bulk_create(
        (
            QueryResult(
                evaluation=evaluation,
                position=position,
                query_id=item.query_id,
                domain=item.domain,
                method=item.method,
                status=item.status,
                extracted=item.extracted or "",
                reason=item.reason,
                response=item.response,
                energy_j=item.energy_j,
                latency_s=item.latency_s,
                ttft_s=item.ttft_s,
                output_tokens=item.output_tokens,
            )
            for position, item in enumerate(result.items)
        ),
        batch_size=2000,
    )
    return evaluation


def reject_submission(
    submission: Submission, error: BundleError, checks: list[dict] | None = None
) -> None:
    """RUNNING -> REJECTED with the user-facing report; the bundle file is kept for its owner."""
    report = {"error": error.to_dict(), "checks": checks or []}
    Submission.objects.filter(pk=submission.pk, status=Submission.Status.RUNNING).update(
        status=Submission.Status.REJECTED,
        report=report,
        error_code=error.code,
        finished_at=timezone.now(),
    )


def fail_submission(submission_id: uuid.UUID | str, code: str, detail: str) -> None:
    """Our fault (crash, time limit): FAILED with a report; staff can re-queue it.

    A conditional update by id: callers in exception handlers need not load the row first."""
    from evaluator.errors import CODES

    report = {"error": {"code": code, "message": CODES.get(code, detail), "detail": detail}}
    Submission.objects.filter(
        pk=submission_id,
        status__in=(
            Submission.Status.RUNNING,
            Submission.Status.QUEUED,
            Submission.Status.JUDGING,
        ),
    ).update(
        status=Submission.Status.FAILED, report=report, error_code=code, finished_at=timezone.now()
    )
