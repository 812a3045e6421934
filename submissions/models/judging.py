"""Cached verdicts of the LLM judge for open-ended items (the evaluator's JudgeCache, in the DB)."""

from __future__ import annotations

from django.db import models


class JudgeVerdict(models.Model):
    """One definite verdict, keyed like ``evaluator.scoring.JudgeCacheKey``.

    Shared by every worker, so re-scoring a bundle, or the same response submitted twice, costs no
    second judge call. Failed calls are never stored (the judge does not cache them either).
    """

    item_key = models.CharField(
        max_length=300, help_text="Item id + a hash of what the judge sees."
    )
    response_sha256 = models.CharField(max_length=64)
    judge_id = models.CharField(max_length=200)
    status = models.CharField(max_length=10)
    extracted = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item_key", "response_sha256", "judge_id"], name="unique_judge_verdict"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_key} by {self.judge_id}: {self.status}"
