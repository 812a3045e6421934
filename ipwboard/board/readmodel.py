"""Keep ``BoardEntry`` (the board's read model) in step with the submissions it derives from.

Whenever a submission is saved or deleted, the entries of its pair are recomputed from the source
tables, in the writer's own transaction: a scored submission is ranked, and a hidden, withdrawn or
denied one unranked, exactly when that write commits (a moderation action is never "eventually"
applied). Every write path goes through ``Model.save()`` or ``delete()`` (``services``, the admin);
the status-only ``QuerySet.update()`` calls of the pipeline never touch a scored submission. Should
the entries ever drift anyway (a raw SQL repair), ``manage.py rebuild_board`` recomputes them all.

Two writers of the same pair (two workers scoring, or a worker and a moderator) are serialised by a
transaction-scoped advisory lock on PostgreSQL, so the second recomputes after the first commits
(READ COMMITTED: its next statement sees the first one's rows). SQLite serialises writers anyway.

The same signal handlers then tell ``receivers.changed()`` whether the submission left the board,
which decides how quickly the cached pages must follow (at once for a removal).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from submissions.models import Evaluation, Submission

from . import receivers
from .models import BoardEntry
from .queries import PAIR_FIELDS, headline_key, measured, ranked_submissions

Pair = tuple[int, int, int, str]  # model id, hardware id, dataset version id, measurement scope
# A submission save that changes none of these cannot change what the board ranks.
RANKING_FIELDS = frozenset(
    {
        "status",
        "review",
        "hidden",
        "withdrawn_at",
        # the rest of the public rule (submissions.models.public_q)
        "superseded_by",
        "superseded_by_id",
        "catalog_pending",
        "current_evaluation",
        "current_evaluation_id",
        "model",
        "model_id",
        "hardware",
        "hardware_id",
        "dataset_version",
        "dataset_version_id",
        "measurement_scope",
        "ranking_class",
        "quantization",
        "manifest",
        "created_at",
    }
)
_LOCK_NAMESPACE = 0x1B0A  # first key of pg_advisory_xact_lock(int, int): "the board's pairs"


def _pair_q(pairs: Iterable[Pair], prefix: str = "") -> Q:
    """Rows of any of these (non-empty) pairs; ``prefix`` reaches the submission's fields."""
    return reduce(
        or_,
        (Q(**{prefix + f: v for f, v in zip(PAIR_FIELDS, pair, strict=True)}) for pair in pairs),
    )


def _lock_key(pair: Pair) -> int:
    """A stable 32-bit key per pair (Python's own hash() differs between processes)."""
    return int.from_bytes(hashlib.sha256(repr(pair).encode()).digest()[:4], "big", signed=True)


def _lock(pairs: Iterable[Pair]) -> None:
    if connection.vendor != "postgresql":
        return
    keys = sorted({_lock_key(pair) for pair in pairs})
    with connection.cursor() as cursor:
        for key in keys:  # always in the same order: two writers cannot deadlock on them
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, key])


def _ranked_rule(evaluations: Any) -> Q:
    """``ranked_submissions()`` for the model of ``evaluations``. A migration's historical model
    may predate some fields of the rule (``superseded_by`` and ``catalog_pending`` came after the
    read model): no row can have set a field that did not exist yet, so those lookups go."""
    rule = ranked_submissions()
    submission = evaluations.model._meta.get_field("submission").related_model
    known = {f.name for f in submission._meta.get_fields()}
    return Q(
        *(
            child
            for child in rule.children
            if not isinstance(child, tuple) or child[0].split("__")[1] in known
        )
    )


def _entries(evaluations: Any, entry_model: type[Model]) -> list[Model]:
    """Entries of every ranked evaluation in ``evaluations``, each pair's best marked."""
    rows = evaluations.filter(_ranked_rule(evaluations)).annotate(measured=measured())
    by_pair: dict[Pair, list[dict[str, Any]]] = defaultdict(list)
    for row in rows.values(
        "pk",
        "created_at",
        "submission_id",
        "ipw",
        "ipw_low",
        "ipw_high",
        "measured",
        "submission__quantization",
        *(f"submission__{field}" for field in PAIR_FIELDS),
    ):
        by_pair[tuple(row[f"submission__{field}"] for field in PAIR_FIELDS)].append(row)  # type: ignore[arg-type]
    out = []
    for pair, members in by_pair.items():
        best = min(members, key=lambda r: headline_key(r["ipw"], r["created_at"], r["pk"]))
        out += [
            entry_model(
                evaluation_id=r["pk"],
                submission_id=r["submission_id"],
                **dict(zip(PAIR_FIELDS, pair, strict=True)),
                best=r is best,
                ipw=r["ipw"],
                ipw_low=r["ipw_low"],
                ipw_high=r["ipw_high"],
                measured=r["measured"] or "",
                quantization=r["submission__quantization"],
            )
            for r in members
        ]
    return out


def refresh_pairs(pairs: Iterable[Pair]) -> set[Any]:
    """Recompute the entries of these pairs from the source tables; returns the submissions
    that have an entry now."""
    pairs = {p for p in pairs if all(v is not None for v in p)}
    if not pairs:
        return set()
    with transaction.atomic():
        _lock(pairs)
        BoardEntry.objects.filter(_pair_q(pairs)).delete()
        entries = _entries(Evaluation.objects.filter(_pair_q(pairs, "submission__")), BoardEntry)
        BoardEntry.objects.bulk_create(entries)
    return {entry.submission_id for entry in entries}  # type: ignore[attr-defined]


def refresh_submissions(submission_ids: Iterable[Any]) -> bool:
    """Recompute the pairs of these submissions (and of their entries, should a pair differ);
    True when one of them had an entry and lost it: it left the board."""
    ids = list(submission_ids)
    with transaction.atomic():
        pairs = set(Submission.objects.filter(pk__in=ids).values_list(*PAIR_FIELDS))
        had = {}
        for submission_id, *pair in BoardEntry.objects.filter(submission_id__in=ids).values_list(
            "submission_id", *PAIR_FIELDS
        ):
            had[submission_id] = tuple(pair)
        ranked = refresh_pairs(pairs | set(had.values()))
    return bool(set(had) - ranked)


def rebuild(apps: Any = None) -> int:
    """Recompute every entry (migrations pass their historical ``apps``); returns the count."""
    evaluation_model = apps.get_model("submissions", "Evaluation") if apps else Evaluation
    entry_model = apps.get_model("board", "BoardEntry") if apps else BoardEntry
    with transaction.atomic():
        if connection.vendor == "postgresql":  # no writer may refresh a pair meanwhile
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {entry_model._meta.db_table} IN EXCLUSIVE MODE")
        entry_model.objects.all().delete()
        entries = _entries(evaluation_model.objects.all(), entry_model)
        entry_model.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


@receiver(post_save, sender=Submission, dispatch_uid="ipwboard.board.readmodel.saved")
def submission_saved(
    sender: Any, instance: Submission, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    """Refresh the pair of a saved submission, then retire the board's caches accordingly."""
    if instance.status != Submission.Status.SCORED and (
        created or not BoardEntry.objects.filter(submission_id=instance.pk).exists()
    ):
        return  # not on the board before this save, nor after it (the usual upload and claim)
    removed = False
    if update_fields is None or RANKING_FIELDS & set(update_fields):
        removed = refresh_submissions([instance.pk])
    # Otherwise (e.g. staff marked it reproduced) the rows stand, but a page shows the change.
    receivers.changed(removed=removed)


@receiver(post_delete, sender=Submission, dispatch_uid="ipwboard.board.readmodel.deleted")
def submission_deleted(sender: Any, instance: Submission, **kwargs: Any) -> None:
    # Its entry went with it (CASCADE); the pair may have a new best.
    refresh_pairs([tuple(getattr(instance, field) for field in PAIR_FIELDS)])  # type: ignore[list-item]
    if instance.status == Submission.Status.SCORED:
        receivers.changed(removed=instance.is_ranked)
