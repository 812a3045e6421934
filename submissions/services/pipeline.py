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
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from evaluator.engine import evaluate
from evaluator.errors import BundleError
from evaluator.fingerprint import LENGTH_TOLERANCE, parse_fingerprint, traces_similar
from evaluator.keys import decode_public_key
from evaluator.measurement_classes import ranking_class
from evaluator.scoring import Judge
from evaluator.types import Dataset, EvaluationResult

from .. import codes
from ..models import (
    DatasetVersion,
    Evaluation,
    Fingerprint,
    SigningKey,
    Submission,
    TracePreview,
)
from ..signals import board_changed
from ..storage import local_copy
from . import supersede
from .catalog import engine_dataset
from .catalog_sync import hardware_row, is_catalog_pending, model_row, server_catalog
from .flags import content_claims, content_flags, trace_flags
from .identity import consume_challenge
from .judging import configured_judge, has_open_ended, stamp_judge
from .queue import enqueue_judging
from .recorder import adopt

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


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
        catalog=server_catalog(),
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
    manifest = info.manifest
    if info.challenge:
        challenge = consume_challenge(info.challenge, submission.owner_id, submission.created_at)
        submission.challenge = challenge
    elif settings.IPWBOARD_REQUIRE_CHALLENGE:
        raise BundleError(
            codes.CHALLENGE_REQUIRED,
            "This server requires a challenge: run `ipwboard challenge` and pack with it.",
            file="manifest.json",
            field="challenge",
        )
    key = SigningKey.objects.get(fingerprint=info.key_fingerprint)
    # The one rule (SigningKey): the moment the server received the bundle decides, never a time
    # or challenge the bundle carries.
    if not key.verifies_received_at(submission.created_at):
        until = key.valid_until
        since = f" since {until:%Y-%m-%d %H:%M:%S} UTC" if until else ""
        raise BundleError(
            codes.KEY_NOT_VALID,
            f"Key {key.fingerprint} is {key.state}{since}: it verifies only bundles this server "
            f"received before then, and this one was received at "
            f"{submission.created_at:%Y-%m-%d %H:%M:%S} UTC. Sign with an active key and submit "
            "again.",
            file="signature.dsse.json",
        )
    _claim_fingerprints(submission, result)

    submission.dataset_version = find_dataset_version(manifest.raw["dataset"])
    # Identity is the catalog's: the engine resolved the names, the rows are the entries'.
    submission.model = model_row(manifest, info.catalog)
    submission.hardware = hardware_row(manifest, info.catalog)
    submission.catalog_pending = is_catalog_pending(manifest, info.catalog)
    measurement = manifest.measurement
    submission.measurement_scope = measurement.scope
    submission.measurement_method = measurement.method
    submission.sampling_period_s = measurement.sampling_period_s
    submission.energy_attribution = measurement.attribution
    submission.energy_basis = measurement.basis
    submission.workload_kind = manifest.workload_kind
    submission.ranking_class = ranking_class(
        measurement.scope, measurement.attribution, measurement.basis, manifest.workload_kind
    )
    quantization = manifest.model.quantization
    if quantization.casefold() in ("", "unknown") and info.catalog.implied_quantization:
        quantization = info.catalog.implied_quantization  # what the Ollama tag implies
    submission.quantization = quantization[:50]
    submission.engine = manifest.model.engine[:100]
    submission.harness = manifest.harness[:100]
    submission.synthetic = manifest.synthetic
    submission.run_id = info.run_id
    submission.key_fingerprint = info.key_fingerprint
    submission.manifest = dict(manifest.raw)
    similar = _store_trace_fingerprint(submission, info.trace_fingerprint)
    if info.trace_preview is not None:
        preview = info.trace_preview
        TracePreview.objects.update_or_create(
            submission=submission,
            defaults={"samples": preview.samples, "t_s": preview.t_s, "power_w": preview.power_w},
        )
    to_judge = judging and has_open_ended(submission.dataset_version)
    submission.status = Submission.Status.JUDGING if to_judge else Submission.Status.SCORED
    submission.review = Submission.Review.NONE  # the recorder holds it if a check warned
    submission.report = {}
    submission.error_code = ""
    submission.finished_at = timezone.now()
    # The server's own flags join the result in the recorder, so the Evaluation, the labels and
    # the review state carry them, and judging and re-scoring keep them (.flags).
    flags = [*trace_flags(similar), *content_flags(submission, info)]
    return adopt(submission, result, flags=flags)


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
            superseded_by__isnull=True,  # a superseded row's trace is its replacement's own
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
    supersede.take_over(submission, result)  # a correction takes the old row's fingerprints
    wanted = [
        (Fingerprint.Kind.BUNDLE, info.bundle_sha256, codes.REPLAY_BUNDLE),
        (Fingerprint.Kind.RUN, info.run_id, codes.REPLAY_RUN),
        *(
            (Fingerprint.Kind.MEMBER, sha, codes.REPLAY_MEMBER)
            for sha in info.member_sha256.values()
        ),
        *content_claims(info),  # the measured content, whatever its encoding
    ]
    for kind, value, code in wanted:
        try:
            with transaction.atomic():  # savepoint: a clash must not poison the outer transaction
                Fingerprint.objects.create(kind=kind, value=value, submission=submission)
        except IntegrityError:
            if Fingerprint.objects.filter(kind=kind, value=value, submission=submission).exists():
                continue  # taken over from the submission this one supersedes
            raise BundleError(
                code,
                f"Replay: this bundle's {kind} digest {value[:16]}… was already accepted in "
                "another submission. Re-run the benchmark to submit new measurements.",
            ) from None


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
