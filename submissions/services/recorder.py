"""The one recorder: how an engine result becomes a submission's current evaluation.

First scoring (``pipeline``), judging and re-scoring (``rescore``) all come here, so they record
the same things the same way: the server's flags folded into the result (those found now, and
those found at first scoring: ``.flags``), the per-query file, the ``Evaluation`` row (figures,
per-domain figures, chart bins, checks, labels), and the submission's labels, report and review
state. The caller holds the submission ``select_for_update`` inside a transaction and has set
whatever else it changes (status, identity fields); this saves the row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from django.core.files.storage import default_storage
from django.db import transaction

from evaluator.bins import bins_of
from evaluator.types import Check, ItemResult, Metrics

from ..models import Evaluation, Submission
from .flags import flagged, server_flags
from .perquery import store_results

log = logging.getLogger(__name__)


class Scored(Protocol):
    """What the recorder reads of a result: ``evaluator.types.EvaluationResult`` (first scoring,
    re-scoring) or ``evaluator.rejudge.Rescored`` (judging)."""

    metrics: Metrics
    items: Sequence[ItemResult]
    checks: tuple[Check, ...]
    scorer_version: str
    claimed_accuracy: float | None
    labels: tuple[str, ...]

    @property
    def warned(self) -> bool: ...


def adopt(locked: Submission, result: Scored, *, flags: Iterable[Check] = ()) -> Evaluation:
    """Record ``result`` as a new evaluation of ``locked`` and make it current.

    ``flags``: server flags found by this recording (first scoring); the ones recorded before are
    carried over. A warning holds the submission for review (``PENDING``) unless staff already
    decided; recording never releases a hold."""
    result = flagged(result, [*flags, *server_flags(locked)])  # type: ignore[type-var]
    name = store_results(locked.pk, result.items, synthetic=locked.synthetic)
    try:
        evaluation = _create_evaluation(locked, result, name)
    except Exception:
        _discard(name)
        raise
    if locked.current_evaluation_id is not None:
        # Only the current evaluation's per-query rows are ever read (pages, downloads, judging,
        # routing); the earlier one keeps its figures as history, not a second full copy of the
        # rows. Released after commit: a rolled-back recording leaves the earlier file in place.
        previous = locked.current_evaluation_id
        transaction.on_commit(lambda: _release_rows(previous))
    locked.current_evaluation = evaluation
    locked.labels = list(result.labels)
    locked.report = {**(locked.report or {}), "checks": [c.to_dict() for c in result.checks]}
    if result.warned and locked.review == Submission.Review.NONE:
        locked.review = Submission.Review.PENDING
    locked.save()
    return evaluation


def _release_rows(evaluation_id: int) -> None:
    """Unlink a superseded evaluation's per-query file, then delete it. The row is cleared first,
    so it never names a missing file; a file whose delete fails is an orphan for the sweeper."""
    names = list(
        Evaluation.objects.filter(pk=evaluation_id)
        .exclude(queries_file="")
        .values_list("queries_file", flat=True)
    )
    Evaluation.objects.filter(pk=evaluation_id).update(queries_file="")
    for name in names:
        _discard(name)


def _discard(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # best effort: an orphan file is harmless, and logged
        log.warning("could not delete the per-query file %s", name, exc_info=True)


def _create_evaluation(submission: Submission, result: Scored, queries_file: str) -> Evaluation:
    m = result.metrics
    return Evaluation.objects.create(
        submission=submission,
        scorer_version=result.scorer_version,
        n_queries=m.n_queries,
        n_scored=m.n_scored,
        n_correct=m.n_correct,
        accuracy=m.accuracy,
        accuracy_low=m.accuracy_ci.low,
        accuracy_high=m.accuracy_ci.high,
        ipw=m.ipw,
        ipw_low=m.ipw_ci.low,
        ipw_high=m.ipw_ci.high,
        ipj=m.ipj,
        ipj_low=m.ipj_ci.low,
        ipj_high=m.ipj_ci.high,
        mean_power_w=m.mean_power_w,
        mean_energy_j=m.mean_energy_j,
        total_energy_j=m.total_energy_j,
        energy_per_1k_output_tokens_j=m.energy_per_1k_output_tokens_j,
        throughput_tok_s=m.throughput_tok_s,
        ttft_p50_s=m.ttft_p50_s,
        ttft_p95_s=m.ttft_p95_s,
        latency_p50_s=m.latency_p50_s,
        latency_p95_s=m.latency_p95_s,
        **m.means,  # the per-query means, by Evaluation field (evaluator.metrics.MEAN_COLUMNS)
        claimed_accuracy=result.claimed_accuracy,
        per_domain={name: vars(dm) for name, dm in m.per_domain.items()},
        checks=[check.to_dict() for check in result.checks],
        labels=list(result.labels),
        bins=bins_of(result.items),  # the charts' bins: pages never read per-query values
        queries_file=queries_file,
    )
