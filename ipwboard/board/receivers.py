"""Keep the board's caches honest: any scored/withdrawn/hidden submission bumps the version."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.dispatch import receiver

from submissions.signals import board_changed

BOARD_VERSION_KEY = "board:version"


def board_version() -> int:
    return cache.get_or_set(BOARD_VERSION_KEY, 1, timeout=None) or 1


@receiver(board_changed)
def bump_board_version(sender: Any, **kwargs: Any) -> None:
    try:
        cache.incr(BOARD_VERSION_KEY)
    except ValueError:
        cache.set(BOARD_VERSION_KEY, 2, timeout=None)
