"""Keep the board's caches honest: any scored/withdrawn/hidden submission bumps the version.

Every board cache key includes the version, so bumping it invalidates them all at once (old entries
simply expire). The bump that counts is the one after commit (``board_changed``); a second one on
``post_save`` makes a change visible at once inside a transaction too (management commands, tests).
A request that caches between the two bumps caches under a version that the commit bump retires.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_save
from django.dispatch import receiver

from submissions.models import Submission
from submissions.signals import board_changed

BOARD_VERSION_KEY = "board:version"


def board_version() -> int:
    return cache.get_or_set(BOARD_VERSION_KEY, 1, timeout=None) or 1


def bump() -> None:
    try:
        cache.incr(BOARD_VERSION_KEY)
    except ValueError:
        cache.set(BOARD_VERSION_KEY, 2, timeout=None)


@receiver(board_changed)
def bump_board_version(sender: Any, **kwargs: Any) -> None:
    bump()


@receiver(post_save, sender=Submission)
def submission_saved(sender: Any, instance: Submission, **kwargs: Any) -> None:
    if instance.status == Submission.Status.SCORED or instance.hidden or instance.withdrawn_at:
        bump()
