"""Pinned, versioned scorers: (dataset item, raw response) -> ItemScore.

The dataset item decides the method, never the bundle. Scorers are pure functions (no I/O, no
randomness, no LLM) except ``llm_judge``, which needs a :class:`Judge`; without one those items are
``unscored`` with the reason "no judge configured".

Versioning: any change in behaviour bumps the method's entry in ``SCORER_VERSIONS`` *and*
``SCORER_VERSION`` (the suite version an Evaluation row records), so a stored evaluation always names
the exact rules that produced it.
"""

from __future__ import annotations

from evaluator.scoring.choice import extract_choice, score_choice
from evaluator.scoring.judge import (
    InMemoryJudgeCache,
    Judge,
    JudgeCache,
    JudgeCacheKey,
    OpenAICompatibleJudge,
)
from evaluator.scoring.numeric import score_numeric
from evaluator.scoring.text import score_exact
from evaluator.types import DatasetItem, ItemScore

SCORER_VERSION = "2026.11.2"  # .2: numeric_match reads a plain final-line expression
SCORER_VERSIONS: dict[str, str] = {
    "letter_match": "1.0.0",
    "numeric_match": "1.1.0",
    "exact_match": "1.0.0",
    "llm_judge": "1.0.0",  # prompt: evaluator.scoring.judge.JUDGE_PROMPT_VERSION
}

NO_JUDGE_REASON = "no judge configured"
PRIVATE_REFERENCE_REASON = "the reference answer is private and not loaded"


def score_item(item: DatasetItem, response: str, judge: Judge | None = None) -> ItemScore:
    """Score one response to one item with the item's method."""
    method = item.method
    if item.reference is None and method != "llm_judge":
        return ItemScore("unscored", None, PRIVATE_REFERENCE_REASON)
    if method == "letter_match":
        return score_choice(item, response)
    if method == "numeric_match":
        return score_numeric(item, response)
    if method == "exact_match":
        return score_exact(item, response)
    if method == "llm_judge":
        if judge is None:
            return ItemScore("unscored", None, NO_JUDGE_REASON)
        return judge.judge(item, response)
    raise ValueError(f"unknown scoring method {method!r}")


__all__ = [
    "NO_JUDGE_REASON",
    "SCORER_VERSION",
    "SCORER_VERSIONS",
    "InMemoryJudgeCache",
    "Judge",
    "JudgeCache",
    "JudgeCacheKey",
    "OpenAICompatibleJudge",
    "extract_choice",
    "score_item",
]
