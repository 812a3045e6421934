"""Keep the board's caches honest: every cache key includes the board version, bumped on change.

Bumping the version retires every cached page at once (old entries simply expire). Two kinds of
change, two promises:

- **Removals** (a ranked submission hidden, withdrawn, denied, held or deleted) bump at once, in
  the writer's transaction and again after its commit, and the bump is *strict*: no page built
  before it may be served any more, not even as the stale copy ``pagecache`` serves while one
  request rebuilds. A moderation action is visible on the next request after it commits.
- **Additions and updates** (a submission scored, re-scored, restored or approved) are coalesced:
  the first one marks a bump due ``IPWBOARD_BOARD_REFRESH_SECONDS`` later and the first request
  after that applies it, so a scored submission appears within that many seconds, and a burst of
  scorings costs one rebuild of each page instead of one per scoring. With 0 (the default outside
  production) they bump at once too.

Staleness is thus bounded by the setting for additions and by nothing for removals. The data under
the caches is never stale: the read model (``readmodel``) changes in the writer's transaction, and
tells ``changed()`` which kind of change it saw (a submission that had an entry and lost it is a
removal; a re-scoring replaces an entry, it removes nothing).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from submissions.signals import board_changed

BOARD_VERSION_KEY = "board:version"
# When a coalesced bump is due (a Unix time), while one is pending.
PENDING_KEY = "board:version:pending"
# The version of the last strict bump: nothing cached under an older one may be served.
FLOOR_KEY = "board:version:floor"


def _first_version() -> int:
    # When the counter is missing (a new cache, or the key was flushed or evicted) it restarts
    # from the clock in milliseconds, not from 1: pages cached under the lost counter's versions
    # may still be around, and a version must never be reused (it grows by one per bump, far
    # slower than the clock).
    return int(time.time() * 1000)


def board_version() -> int:
    """The current version, applying a coalesced bump that has come due (one request does)."""
    found = cache.get_many([BOARD_VERSION_KEY, PENDING_KEY])
    due = found.get(PENDING_KEY)
    if due is not None and time.time() >= due and cache.delete(PENDING_KEY):
        return bump()
    version = found.get(BOARD_VERSION_KEY)
    if version is None:
        cache.add(BOARD_VERSION_KEY, _first_version(), timeout=None)
        version = cache.get(BOARD_VERSION_KEY) or _first_version()
    return int(version)


def bump(*, strict: bool = False) -> int:
    """A new version at once; ``strict`` also forbids serving anything cached before it."""
    try:
        version = int(cache.incr(BOARD_VERSION_KEY))
    except ValueError:  # no counter yet (see _first_version)
        cache.add(BOARD_VERSION_KEY, _first_version(), timeout=None)
        version = int(cache.incr(BOARD_VERSION_KEY))
    if strict:
        cache.set(FLOOR_KEY, version, timeout=None)
    return version


def floor() -> int:
    return int(cache.get(FLOOR_KEY) or 0)


def bump_soon() -> None:
    """A new version within ``IPWBOARD_BOARD_REFRESH_SECONDS`` (at once when it is 0)."""
    delay = settings.IPWBOARD_BOARD_REFRESH_SECONDS
    if delay <= 0:
        bump()
    else:
        # ``add``: the first pending change sets the deadline, later ones ride along. No expiry:
        # a pending bump must survive until some request applies it.
        cache.add(PENDING_KEY, time.time() + delay, timeout=None)


def changed(*, removed: bool) -> None:
    """A submission changed what the board shows (``readmodel`` calls this from its signals):
    ``removed`` when one that was ranked no longer is (hidden, withdrawn, denied, deleted)."""
    if not removed:
        bump_soon()
        return
    bump(strict=True)  # visible inside the transaction (management commands, tests) ...
    transaction.on_commit(lambda: bump(strict=True))  # ... and to everyone once it commits


@receiver(board_changed, dispatch_uid="ipwboard.board.receivers.board_changed")
def bump_board_version(sender: Any, **kwargs: Any) -> None:
    # Sent after commit for scorings, re-scorings and moderation alike. A removal has already
    # bumped strictly from the read model's post_save, in the transaction and after its commit.
    bump_soon()
