"""The catalog review queue: measured runs whose model or hardware name the catalog does not know.

They are accepted and kept (nothing accepted is lost) but held off the board with
``catalog_pending``: a board that ranks "Foo GPU 9000" beside an H100 has no idea what was measured,
and the physics checks cannot bound an unknown chip. Staff either map the name to an entry
(``map_name``: a ``CatalogAlias``) or add an entry (admin, or a pull request to ``data/catalog``),
then every submission that waited on the name is **checked again** with the entry
(``recheck_submission``: the engine runs on the stored bundle, physics included). It then goes on
the board, stays held for other warnings, or is rejected with the physics code it now fails.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from evaluator.catalog import normalise_hardware_name, normalise_model_name
from evaluator.errors import BundleError

from ..models import AIModel, CatalogAlias, Hardware, Submission
from ..signals import board_changed
from ..storage import local_copy
from .catalog_sync import (
    hardware_entry_row,
    hardware_row,
    is_catalog_pending,
    model_entry_row,
    model_row,
)
from .queue import enqueue_recheck

log = logging.getLogger(__name__)
# Checks the engine emits about identity: replaced on a re-check, whatever they said before.
_IDENTITY_PREFIXES = ("catalog.", "physics.", "measurement.", "manifest.name_confusable")


class UnknownCatalogKey(Exception):
    """Staff named a catalog key that no entry has."""


def pending_names() -> dict[str, dict[str, int]]:
    """Unmapped names and how many submissions wait on each: {"hardware": {...}, "model": {...}}."""
    waiting = Submission.objects.filter(catalog_pending=True)
    return {
        kind: dict(
            waiting.filter(**{f"{kind}__catalog_key": ""})
            .values_list(f"{kind}__{field}")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for kind, field in (("hardware", "label"), ("model", "name"))
    }


@transaction.atomic
def map_name(kind: str, name: str, catalog_key: str) -> list[str]:
    """Map an unknown model or hardware name to a catalog entry and queue a re-check of every
    submission that waited on it. Returns their ids."""
    if kind == CatalogAlias.Kind.HARDWARE:
        row: Hardware | AIModel | None = hardware_entry_row(catalog_key)
        normalised = normalise_hardware_name(name)
        waiting = Q(hardware__label=name, hardware__catalog_key="")
    elif kind == CatalogAlias.Kind.MODEL:
        row = model_entry_row(catalog_key)
        normalised = normalise_model_name(name)
        waiting = Q(model__name=name, model__catalog_key="")
    else:
        raise ValueError(f"kind must be 'model' or 'hardware', not {kind!r}")
    if row is None:
        raise UnknownCatalogKey(f"no {kind} entry with key {catalog_key!r}")
    CatalogAlias.objects.update_or_create(
        kind=kind,
        normalised=normalised,
        defaults={
            "name": name,
            "hardware": row if kind == CatalogAlias.Kind.HARDWARE else None,
            "model": row if kind == CatalogAlias.Kind.MODEL else None,
        },
    )
    ids = [
        str(pk)
        for pk in Submission.objects.filter(waiting, catalog_pending=True).values_list(
            "pk", flat=True
        )
    ]
    for submission_id in ids:
        transaction.on_commit(lambda sid=submission_id: enqueue_recheck(sid))  # type: ignore[misc]
    return ids


def recheck_submission(submission_id: uuid.UUID | str) -> str:
    """Run the engine again on a catalog-pending submission with today's server catalog and
    adopt the identity it resolves. Returns "published", "held", "waiting", "rejected" or
    "skipped". Safe to run twice: a submission no longer pending is skipped."""
    from .pipeline import _evaluate  # the one engine call of the worker

    submission = Submission.objects.get(pk=submission_id)
    if not submission.catalog_pending or submission.status != Submission.Status.SCORED:
        return "skipped"
    try:
        with local_copy(submission.bundle.name) as path:
            result = _evaluate(submission, path, judge=None)
    except BundleError as error:
        # Known now, and impossible for it (e.g. a physics bound): never reaches the board.
        updated = Submission.objects.filter(pk=submission.pk, catalog_pending=True).update(
            status=Submission.Status.REJECTED,
            catalog_pending=False,
            review=Submission.Review.NONE,
            report={"error": error.to_dict(), "checks": submission.report.get("checks", [])},
            error_code=error.code,
            finished_at=timezone.now(),
        )
        return "rejected" if updated else "skipped"
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if not locked.catalog_pending:
            return "skipped"
        manifest, resolution = result.bundle.manifest, result.bundle.catalog
        locked.model = model_row(manifest, resolution)
        locked.hardware = hardware_row(manifest, resolution)
        locked.catalog_pending = is_catalog_pending(manifest, resolution)
        # Identity checks come from this run; every other check (the server's replay flags
        # included) is kept as it was recorded.
        kept = [
            c
            for c in locked.report.get("checks", [])
            if not str(c.get("code", "")).startswith(_IDENTITY_PREFIXES)
        ]
        fresh = [
            c.to_dict()
            for c in result.checks
            if c.code.startswith(_IDENTITY_PREFIXES) and c.status != "fail"
        ]
        checks = kept + fresh
        locked.report = {**locked.report, "checks": checks}
        held = any(c.get("status") == "warn" for c in checks)
        if locked.review in (Submission.Review.PENDING, Submission.Review.NONE):
            locked.review = Submission.Review.PENDING if held else Submission.Review.NONE
        labels = [label for label in locked.labels if label != "provisional"]
        locked.labels = [*labels, "provisional"] if held else labels
        locked.save()
        evaluation = locked.current_evaluation
        if evaluation is not None:  # same scores; only what was said about identity changed
            evaluation.checks = checks
            evaluation.labels = locked.labels
            evaluation.save(update_fields=["checks", "labels"])
        transaction.on_commit(lambda: board_changed.send(Submission, submission_id=locked.pk))
    if locked.catalog_pending:
        return "waiting"
    return "held" if locked.review == Submission.Review.PENDING else "published"
