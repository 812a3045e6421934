"""The LLM judge on the server: configured by settings, its verdicts cached in the database.

Which judge scored a submission is part of *what produced its numbers*, so it is part of the
Evaluation's key. ``Evaluation.scorer_version`` is the engine's ``SCORER_VERSION`` plus, when the
dataset has open-ended items and a judge scored them, ``+judge:<tag>`` where ``<tag>`` is a short hash
of the judge id (``openai-compatible:<model>:<prompt version>``; the column holds 50 characters, a
model name alone can be longer). The full judge id is recorded in the evaluation's ``scoring.judge``
check. When some judge calls failed (those items are unscored, the judge retries them next time) the
version gets ``+partial``, so that a later re-score with a working judge records a complete
evaluation beside the partial one instead of being a no-op.

Datasets without open-ended items never carry a judge tag: the judge cannot change their numbers, and
turning a judge on must not make every such submission "re-scorable".
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import TypeVar

from django.conf import settings

from evaluator.manifest_model import Manifest
from evaluator.rejudge import Rescored, checks_from_dicts, rejudge
from evaluator.results import STATUS_CODE, ItemResults
from evaluator.scoring import Judge, JudgeCacheKey, OpenAICompatibleJudge
from evaluator.types import Check, ItemScore

from ..models import DatasetVersion, JudgeVerdict, Submission
from .catalog import engine_dataset
from .perquery import read_results

JUDGE_MARK = "+judge:"
PARTIAL_MARK = "+partial"
JUDGE_CHECK = "scoring.judge"
OPEN_ENDED = "llm_judge"
_R = TypeVar("_R")


class DatabaseJudgeCache:
    """``evaluator.scoring.JudgeCache`` over the ``JudgeVerdict`` table, shared by all workers."""

    def get(self, key: JudgeCacheKey) -> ItemScore | None:
        row = (
            JudgeVerdict.objects.filter(
                item_key=_fit(key.item_key, 300),
                response_sha256=key.response_sha256,
                judge_id=_fit(key.judge_id, 200),
            )
            .values_list("status", "extracted", "reason")
            .first()
        )
        if row is None:
            return None
        status, extracted, reason = row
        return ItemScore(status, extracted or None, reason)

    def set(self, key: JudgeCacheKey, score: ItemScore) -> None:
        # Two workers judging the same response race harmlessly: the first verdict stays.
        JudgeVerdict.objects.bulk_create(
            [
                JudgeVerdict(
                    item_key=_fit(key.item_key, 300),
                    response_sha256=key.response_sha256,
                    judge_id=_fit(key.judge_id, 200),
                    status=score.status,
                    extracted=score.extracted or "",
                    reason=score.reason,
                )
            ],
            ignore_conflicts=True,
        )


def _fit(value: str, limit: int) -> str:
    """``value`` if it fits the column, else a prefix plus a hash of the whole (still unique)."""
    if len(value) <= limit:
        return value
    return value[: limit - 17] + "#" + hashlib.sha256(value.encode()).hexdigest()[:16]


def configured_judge() -> Judge | None:
    """The judge the settings configure, or None (open-ended items are then unscored)."""
    url = settings.IPWBOARD_JUDGE_URL
    if not url:
        return None
    return _judge(
        url,
        settings.IPWBOARD_JUDGE_MODEL,
        settings.IPWBOARD_JUDGE_API_KEY or None,
        float(settings.IPWBOARD_JUDGE_TIMEOUT_SECONDS),
    )


@functools.lru_cache(maxsize=4)
def _judge(url: str, model: str, api_key: str | None, timeout: float) -> OpenAICompatibleJudge:
    # One HTTP client per worker process and configuration: connections are reused across
    # evaluations. The cache object is stateless (the database holds the verdicts).
    return OpenAICompatibleJudge(url, model, api_key, timeout, cache=DatabaseJudgeCache())


def judge_tag(judge_id: str) -> str:
    return hashlib.sha256(judge_id.encode()).hexdigest()[:10]


def versioned(base: str, judge: Judge | None, *, open_ended: bool, partial: bool = False) -> str:
    """The ``Evaluation.scorer_version`` for the engine's version ``base`` and this judge."""
    if judge is None or not open_ended:
        return base
    return f"{base}{JUDGE_MARK}{judge_tag(judge.judge_id)}" + (PARTIAL_MARK if partial else "")


def stamp_judge(result: _R, judge: Judge | None) -> _R:
    """Fold the judge into the result's scorer version and record it in a check."""
    items = result.items
    if isinstance(items, ItemResults):  # the engine's columns: no per-item objects
        methods = items.dataset_items.table.column("method").cast("string")
        is_open = methods.to_numpy(zero_copy_only=False) == OPEN_ENDED
        n_open = int(is_open.sum())
        failed = int((items.status[is_open] == STATUS_CODE["unscored"]).sum())
    else:
        open_ended = [item for item in items if item.method == OPEN_ENDED]
        n_open = len(open_ended)
        failed = sum(1 for item in open_ended if item.status == "unscored")
    if judge is None or not n_open:
        return result
    message = f"{n_open} open-ended item(s) judged by {judge.judge_id}"
    if failed:
        message += (
            f"; {failed} could not be judged (judge call failed) and are unscored: re-scoring "
            "retries them"
        )
    return dataclasses.replace(
        result,  # type: ignore[type-var]
        scorer_version=versioned(
            result.scorer_version, judge, open_ended=True, partial=bool(failed)
        ),
        checks=(*result.checks, Check(JUDGE_CHECK, "pass", message)),
    )


def has_open_ended(version: DatasetVersion | None) -> bool:
    """Does ``version`` have items only a judge can score?"""
    return version is not None and version.open_ended_items > 0


def judged_result(submission: Submission, judge: Judge) -> Rescored:
    """The submission's current evaluation with its open-ended items judged: the stored
    responses are read from its per-query file and only those rows are scored; the metrics are
    recomputed from the per-query columns (``evaluator.rejudge``). No engine pass over the
    bundle."""
    evaluation = submission.current_evaluation
    assert evaluation is not None and submission.dataset_version is not None
    dataset = engine_dataset(submission.dataset_version)
    result = rejudge(
        read_results(evaluation.queries_file.name),
        dataset.columns,
        judge,
        checks=checks_from_dicts(evaluation.checks),
        labels=evaluation.labels,
        manifest=Manifest.from_json(submission.manifest or {}),
        scorer_version=evaluation.scorer_version,
        claimed_accuracy=evaluation.claimed_accuracy,
        seed=settings.IPWBOARD_BOOTSTRAP_SEED,
    )
    return stamp_judge(result, judge)
