"""Thin Celery tasks: take ids, call one service, safe to run twice (acks_late, prefetch 1)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import codes, services
from .models import Submission

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def evaluate_submission(submission_id: str) -> None:
    try:
        services.process_submission(submission_id)
    except SoftTimeLimitExceeded:
        submission = Submission.objects.get(pk=submission_id)
        services.fail_submission(submission, codes.TIME_LIMIT, "soft time limit exceeded")
    except MemoryError:
        submission = Submission.objects.get(pk=submission_id)
        services.fail_submission(submission, codes.INTERNAL, "memory limit exceeded")
    except Exception as exc:  # ours, not the submitter's: keep a report, never leave it RUNNING
        log.exception("evaluating submission %s failed", submission_id)
        submission = Submission.objects.filter(pk=submission_id).first()
        if submission is not None:
            services.fail_submission(submission, codes.INTERNAL, type(exc).__name__)


@shared_task
def sweep_stale_submissions() -> int:
    return services.sweep_stale_submissions()
