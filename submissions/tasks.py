"""Thin Celery tasks: take ids, call one service, safe to run twice (acks_late, prefetch 1)."""

from __future__ import annotations

import logging
import resource
import time
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure, worker_process_init
from django.conf import settings

from . import codes, services
from .services.pipeline import MAX_ATTEMPTS, DeadlinePassed

log = logging.getLogger(__name__)


@worker_process_init.connect
def _cap_memory(**kwargs: Any) -> None:
    """Give each pool process an address-space cap, so a bundle that blows up evaluation raises
    MemoryError in the task (FAILED with a report) instead of waking the kernel's OOM killer."""
    extra_mb = settings.IPWBOARD_TASK_MEMORY_LIMIT_MB
    if extra_mb <= 0:
        return
    # The cap is on address space, and every extra thread costs a malloc arena (64 MiB of it):
    # pyarrow's pools alone added ~130 MiB of address space to an ordinary 60-query bundle. One
    # pool process per core already uses the cores; run them with MALLOC_ARENA_MAX=2 as well
    # (docker-compose sets it).
    import pyarrow

    pyarrow.set_cpu_count(1)
    pyarrow.set_io_thread_count(1)
    # pyarrow imports pandas lazily on its first pa.array()/pa.scalar() when pandas is installed;
    # do it before measuring the baseline, or the first task pays for it against the cap.
    pyarrow.array([0.0])
    with open("/proc/self/statm") as fh:  # Linux; the cap is a production (container) feature
        current = int(fh.read().split()[0]) * resource.getpagesize()
    limit = current + extra_mb * 1024**2
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


class EvaluationTask(Task):
    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        # Celery calls this in the worker's main process when the hard time limit kills the pool
        # process: the task body never got to mark the submission, so do it here.
        if isinstance(exc, TimeLimitExceeded) and args:
            services.fail_submission(args[0], codes.TIME_LIMIT, "hard time limit exceeded")


# A pool process that dies mid-task (SIGKILL, the OOM killer, a native crash) makes Celery re-send
# this task with ``retries`` + 1: that run reclaims the RUNNING row at once instead of waiting for
# the sweeper. After MAX_ATTEMPTS deaths the task_failure handler below marks it FAILED.
@shared_task(
    base=EvaluationTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    retry_on_worker_lost=True,
    max_retries=MAX_ATTEMPTS - 1,
    default_retry_delay=1,
)
def evaluate_submission(self: Task, submission_id: str) -> None:
    # The publisher stamps its limits on the message; fall back to our settings.
    soft = (self.request.timelimit or (None, None))[1] or settings.CELERY_TASK_SOFT_TIME_LIMIT
    deadline = time.monotonic() + soft if soft else None
    try:
        services.process_submission(
            submission_id, worker_lost=self.request.retries > 0, deadline=deadline
        )
    except (SoftTimeLimitExceeded, DeadlinePassed):
        services.fail_submission(submission_id, codes.TIME_LIMIT, "soft time limit exceeded")
    except MemoryError:
        log.exception("submission %s exceeded the worker memory limit", submission_id)
        services.fail_submission(submission_id, codes.INTERNAL, "memory limit exceeded")
    except Exception as exc:  # ours, not the submitter's: keep a report, never leave it RUNNING
        log.exception("evaluating submission %s failed", submission_id)
        services.fail_submission(submission_id, codes.INTERNAL, type(exc).__name__)


@task_failure.connect
def _worker_lost_for_good(
    sender: Any = None, exception: Any = None, args: Any = None, **kw: Any
) -> None:
    if getattr(sender, "name", "") != evaluate_submission.name or not args:
        return
    if isinstance(exception, WorkerLostError):  # retries exhausted: the bundle kills workers
        services.fail_submission(
            args[0],
            codes.INTERNAL,
            f"worker process lost {MAX_ATTEMPTS} times (killed or out of memory)",
        )


@shared_task(acks_late=True, reject_on_worker_lost=True)
def judge_submission(submission_id: str) -> str:
    """JUDGING -> SCORED on the "scoring" queue (judge calls are I/O-bound; see CELERY_TASK_ROUTES).
    A crash or time limit marks it FAILED with a report; a lost worker redelivers the message."""
    from .services.rescore import complete_judging

    try:
        return complete_judging(submission_id).outcome
    except (SoftTimeLimitExceeded, DeadlinePassed):
        services.fail_submission(submission_id, codes.TIME_LIMIT, "judging: soft time limit")
    except Exception as exc:  # ours, never the submitter's: keep a report, never leave it JUDGING
        log.exception("judging submission %s failed", submission_id)
        services.fail_submission(submission_id, codes.INTERNAL, f"judging: {type(exc).__name__}")
    return "failed"


@shared_task
def sweep_stale_submissions() -> int:
    return services.sweep_stale_submissions()


# --- re-scoring (issue 4): both on the "scoring" queue (see CELERY_TASK_ROUTES) ----------------


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rescore_dataset_version(version_id: int) -> int:
    """Fan out: one ``rescore_submission`` per scored submission of the version still to do."""
    from .services.rescore import fan_out_dataset_rescore

    return fan_out_dataset_rescore(version_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def rescore_submission(submission_id: str) -> str:
    """Re-score one submission; a no-op when it already has an evaluation under these rules."""
    from .services.rescore import rescore_submission as rescore

    try:
        outcome = rescore(submission_id)
    except SoftTimeLimitExceeded:
        # Nothing was written: the submission keeps its current evaluation; staff can re-run.
        log.error("re-scoring submission %s hit the soft time limit", submission_id)
        return "failed"
    except Exception:  # ours: the submission is untouched, the log says why
        log.exception("re-scoring submission %s failed", submission_id)
        return "failed"
    log.info("re-scored %s: %s %s", submission_id, outcome.outcome, outcome.scorer_version)
    return outcome.outcome


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recheck_catalog(submission_id: str) -> str:
    """Check a catalog-pending submission again once staff mapped its model or hardware name."""
    from .services.catalog_review import recheck_submission

    try:
        outcome = recheck_submission(submission_id)
    except Exception:  # ours: the submission stays pending; staff can run `catalog recheck`
        log.exception("catalog re-check of %s failed", submission_id)
        return "failed"
    log.info("catalog re-check of %s: %s", submission_id, outcome)
    return outcome
