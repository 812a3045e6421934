"""The one place that sends tasks, by name: services never import the task layer.

Every send stamps the configured time limits on the message (the worker enforces what the sender
says, so web and worker must agree: see the README), and a broker that is down never fails the
caller: the row stays where it is and the sweeper (or staff) sends it again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings

log = logging.getLogger(__name__)

EVALUATE = "submissions.tasks.evaluate_submission"
JUDGE = "submissions.tasks.judge_submission"
RECHECK_CATALOG = "submissions.tasks.recheck_catalog"
RESCORE_VERSION = "submissions.tasks.rescore_dataset_version"
RESCORE_SUBMISSION = "submissions.tasks.rescore_submission"


def _app() -> Any:
    # The project's app in every process that runs it (it is the only one); tests that create a
    # bare Celery() of their own swap this for the project's.
    return current_app


def send(name: str, *args: Any) -> bool:
    """Send task ``name`` (routed to its queue by CELERY_TASK_ROUTES); False if the broker is
    unreachable (logged: the caller's row is left for the sweeper)."""
    try:
        _app().send_task(
            name,
            args=[str(a) if not isinstance(a, int) else a for a in args],
            soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
            time_limit=settings.CELERY_TASK_TIME_LIMIT,
        )
    except Exception:  # broker unavailable
        log.exception("could not send %s%r; the sweeper will retry", name, args)
        return False
    return True


def enqueue(submission_id: Any) -> None:
    """Validation; if the broker is down the row stays QUEUED and the sweeper retries later."""
    send(EVALUATE, submission_id)


def enqueue_judging(submission_id: Any) -> None:
    """Judging (scoring queue); if the broker is down the row stays JUDGING and is swept."""
    send(JUDGE, submission_id)


def enqueue_recheck(submission_id: Any) -> None:
    """A catalog re-check; if the broker is down, staff run ``manage.py catalog recheck``."""
    send(RECHECK_CATALOG, submission_id)


def enqueue_rescore_version(version_id: int) -> None:
    send(RESCORE_VERSION, version_id)


def enqueue_rescore_submission(submission_id: Any) -> None:
    send(RESCORE_SUBMISSION, submission_id)
