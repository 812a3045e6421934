"""Celery tasks of the read side (routed to the ``exports`` queue by CELERY_TASK_ROUTES)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

log = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def regenerate_board_exports() -> int:
    """Rebuild the board exports. Clears the debounce flag first, so a change that lands while
    this runs schedules one more rebuild instead of being lost."""
    from . import exports

    cache.delete(exports.SCHEDULED_KEY)
    manifest = exports.regenerate_exports()
    log.info("board exports %s: %s rows", manifest["generation"], manifest["row_count"])
    return int(manifest["row_count"])


@shared_task(acks_late=True, reject_on_worker_lost=True)
def refresh_routing() -> dict[str, int]:
    """Recompute the stored routing analyses whose ranked pairs changed (``routing``). Clears the
    debounce flag first, like the exports, so a change during the run schedules another."""
    from . import routing

    cache.delete(routing.SCHEDULED_KEY)
    outcome = routing.refresh_all()
    log.info("routing analyses: %s", outcome)
    return outcome
