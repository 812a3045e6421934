"""Judging a recorded evaluation: score only its open-ended responses, recompute the metrics.

A submission on a dataset with open-ended (``llm_judge``) items is recorded first without the judge
(those items unscored) so the validation worker never waits on an LLM. Judging then needs neither
the bundle nor a second engine pass: the responses, energies and latencies are in the evaluation's
per-query file (``evaluator.perquery``). ``rejudge`` scores the open-ended rows with the judge,
recomputes the metrics from the per-query columns with the board's one formula
(``evaluator.metrics.compute_metrics``), and redoes the checks and labels that follow from the
metrics; every other check of the recorded evaluation stands (the bundle did not change).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evaluator.checks.claims import claim_checks, claim_labels
from evaluator.checks.flags import flag_labels
from evaluator.checks.recordable import check_recordable
from evaluator.items import DatasetItems
from evaluator.limits import DEFAULT_LIMITS, Limits
from evaluator.manifest_model import Manifest
from evaluator.metrics import MetricInputs, compute_metrics, query_means
from evaluator.results import EXTRA_COLUMNS, STATUS_CODE, STATUSES, ItemResults
from evaluator.scoring import Judge, score_item
from evaluator.types import Check, ItemResult, Metrics

OPEN_ENDED = "llm_judge"
# Checks and labels that follow from the metrics: recomputed; everything else is kept.
_METRIC_CHECKS = frozenset(
    {"accuracy.claim_gap", "ipw.claim_gap", "ipj.claim_gap", "ipw.claim", "ipj.claim"}
)
_METRIC_LABELS = frozenset(
    {"unscored-items", "accuracy-claim-gap", "efficiency-claim-gap", "provisional"}
)


@dataclass(frozen=True)
class Rescored:
    """What ``EvaluationResult`` carries for recording, minus the bundle facts (admission was
    decided at first scoring): the recorder adopts either."""

    metrics: Metrics
    items: Sequence[ItemResult]
    checks: tuple[Check, ...]
    scorer_version: str
    claimed_accuracy: float | None
    labels: tuple[str, ...]

    @property
    def warned(self) -> bool:
        return any(check.status == "warn" for check in self.checks)


def _numbers(column: pa.ChunkedArray) -> np.ndarray:
    """A nullable numeric column as float64 with NaN for null."""
    return pc.fill_null(pc.cast(column, pa.float64()), np.nan).to_numpy(zero_copy_only=False)


def _extra(table: pa.Table) -> dict[str, np.ndarray]:
    """The optional per-query columns the run reported (a column of nulls was not reported)."""
    return {
        name: _numbers(table.column(name))
        for name in EXTRA_COLUMNS
        if name in table.column_names and table.column(name).null_count < table.num_rows
    }


def metric_inputs(table: pa.Table) -> MetricInputs:
    """The metric inputs from per-query columns (any row order: the metrics are order-free
    sums, percentiles and a bootstrap seeded over rows, so callers pass dataset order)."""
    status = table.column("status")
    return MetricInputs(
        correct=pc.equal(status, "correct").to_numpy(zero_copy_only=False),
        scored=pc.not_equal(status, "unscored").to_numpy(zero_copy_only=False),
        energy_j=_numbers(table.column("energy_j")),
        latency_s=_numbers(table.column("latency_s")),
        ttft_s=_numbers(table.column("ttft_s")),
        output_tokens=_numbers(table.column("output_tokens")),
        domains=table.column("domain").to_pylist(),
        extra=_extra(table),
    )


def metrics_of(table: pa.Table, *, seed: int = 0) -> Metrics:
    """``compute_metrics`` over a per-query table in dataset order (the engine's formula)."""
    return compute_metrics(metric_inputs(table), seed=seed)


# What ``means_of`` reads of a per-query file (the backfill of ``Evaluation``'s means).
MEAN_INPUT_COLUMNS: tuple[str, ...] = (
    "status",
    "domain",
    "energy_j",
    "latency_s",
    "ttft_s",
    "output_tokens",
    *EXTRA_COLUMNS,
)


def means_of(table: pa.Table) -> dict[str, float | None]:
    """The per-query means (``evaluator.metrics.query_means``) of a per-query table."""
    return query_means(metric_inputs(table))


def judge_rows(table: pa.Table, items: DatasetItems, judge: Judge) -> pa.Table:
    """``table`` (per-query columns, dataset order) with its open-ended rows judged: only their
    status, extracted answer and reason change."""
    open_rows = np.flatnonzero(
        pc.equal(table.column("method"), OPEN_ENDED).to_numpy(zero_copy_only=False)
    )
    if not len(open_rows):
        return table
    status = table.column("status").to_pylist()
    extracted = table.column("extracted").to_pylist()
    reason = table.column("reason").to_pylist()
    positions = table.column("position").to_numpy(zero_copy_only=False)[open_rows]
    responses = table.column("response").take(pa.array(open_rows)).to_pylist()
    for row, item, response in zip(
        open_rows, items.take(positions.astype(np.int64)), responses, strict=True
    ):
        score = score_item(item, response or "", judge)
        status[row], extracted[row], reason[row] = score.status, score.extracted, score.reason
    for name, values in (("status", status), ("extracted", extracted), ("reason", reason)):
        index = table.column_names.index(name)
        table = table.set_column(index, name, pa.array(values, pa.string()))
    return table


def item_results(table: pa.Table, items: DatasetItems) -> ItemResults:
    """The engine's columnar results from a per-query table in dataset order."""
    codes = pc.index_in(table.column("status"), value_set=pa.array(STATUSES))
    return ItemResults(
        items,
        codes.to_numpy(zero_copy_only=False).astype(np.uint8),
        table.column("extracted"),
        pc.fill_null(table.column("reason"), ""),
        energy_j=_numbers(table.column("energy_j")),
        latency_s=_numbers(table.column("latency_s")),
        ttft_s=_numbers(table.column("ttft_s")),
        output_tokens=_numbers(table.column("output_tokens")),
        response=pc.fill_null(table.column("response"), ""),
        extra=_extra(table),
    )


def rejudge(
    table: pa.Table,
    items: DatasetItems,
    judge: Judge,
    *,
    checks: Iterable[Check],
    labels: Iterable[str],
    manifest: Manifest,
    scorer_version: str,
    claimed_accuracy: float | None,
    seed: int = 0,
    limits: Limits = DEFAULT_LIMITS,
) -> Rescored:
    """Judge the open-ended rows of a recorded evaluation (``table``: its per-query columns in
    dataset order; ``checks`` and ``labels``: what it recorded) and recompute what follows."""
    judged = judge_rows(table, items, judge)
    results = item_results(judged, items)
    metrics = compute_metrics(
        MetricInputs(
            correct=results.status == STATUS_CODE["correct"],
            scored=results.status != STATUS_CODE["unscored"],
            energy_j=results.energy_j,
            latency_s=results.latency_s,
            ttft_s=results.ttft_s,
            output_tokens=results.output_tokens,
            domains=items.domains(),
            extra=results.extra,
        ),
        seed=seed,
    )
    kept = [check for check in checks if check.code not in _METRIC_CHECKS]
    kept += check_recordable(metrics)
    claimed_checks = claim_checks(manifest, metrics, limits)
    kept += claimed_checks
    new_labels = [label for label in labels if label not in _METRIC_LABELS]
    if (results.status == STATUS_CODE["unscored"]).any():
        new_labels.append("unscored-items")
    new_labels += [label for label in flag_labels(kept) if label not in new_labels]
    new_labels += claim_labels(claimed_checks)
    if any(check.status == "warn" for check in kept):
        new_labels.append("provisional")
    return Rescored(
        metrics=metrics,
        items=results,
        checks=tuple(kept),
        scorer_version=scorer_version,
        claimed_accuracy=claimed_accuracy,
        labels=tuple(new_labels),
    )


def checks_from_dicts(rows: Iterable[dict[str, Any]]) -> list[Check]:
    """Checks as recorded (``Check.to_dict``) back to ``Check``."""
    fields = {f.name for f in dataclasses.fields(Check)}
    return [Check(**{k: v for k, v in row.items() if k in fields}) for row in rows]
