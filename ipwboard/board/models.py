"""The board's read model: what is publicly ranked, precomputed where it is written.

Ranking a request's worth of rows straight from the source tables means joining every submission
with its evaluations and picking each pair's best (a sort of every row) on every cold page. The
board instead keeps one ``BoardEntry`` per publicly ranked submission, with the pair's best marked,
maintained in the same transaction as the write that changes it (``readmodel.py``), so a page reads
a narrow table and the entry set is never out of step with the submissions it was built from.
"""

from __future__ import annotations

from django.db import models

from submissions.models import AIModel, DatasetVersion, Evaluation, Hardware, Submission


class BoardEntry(models.Model):
    """A publicly ranked submission's current evaluation (``queries.ranked_submissions()``).

    Derived data: ``readmodel.refresh_submissions`` rewrites a pair's entries whenever one of its
    submissions is saved or deleted, and ``readmodel.rebuild`` recomputes them all. The figures
    copied here are immutable (an Evaluation is never overwritten); catalog and submitter fields
    are not copied, they are joined when a filter or a sort needs them.
    """

    evaluation = models.OneToOneField(
        Evaluation, on_delete=models.CASCADE, primary_key=True, related_name="board_entry"
    )
    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, related_name="board_entry"
    )
    # The pair (model, hardware, dataset version, ranking class): the unit a row stands for. The
    # ranking class is the measurement scope, qualified when attribution, basis or workload differ
    # from the scope's usual (Submission.ranking_class): results of different classes never rank
    # together.
    model = models.ForeignKey(AIModel, on_delete=models.CASCADE, related_name="+")
    hardware = models.ForeignKey(Hardware, on_delete=models.CASCADE, related_name="+")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="+")
    ranking_class = models.CharField(max_length=80)
    quantization = models.CharField(max_length=50, blank=True)  # the submission's (a filter)
    # The pair's headline: the highest IPW, the earliest evaluation on a tie (``readmodel``).
    best = models.BooleanField()
    ipw = models.FloatField()
    ipw_low = models.FloatField()
    ipw_high = models.FloatField()
    # When the run was measured (``queries.measured()``): ISO text, so it sorts and filters as text
    # without extracting it from the manifest's JSON on every request.
    measured = models.TextField()

    class Meta:
        indexes = [
            models.Index(
                fields=["model", "hardware", "dataset_version", "ranking_class"],
                name="board_entry_pair",
            ),
            models.Index(
                fields=["best", "dataset_version", "ranking_class"], name="board_entry_best"
            ),
        ]

    def __str__(self) -> str:
        return f"entry {self.evaluation_id}{' (best)' if self.best else ''}"


class RoutingAnalysis(models.Model):
    """The stored routing analysis (``evaluator.routing``) of one ranking context (dataset version
    x ranking class) for one choice of what counts as local (``board.routing.LOCAL_SETS``).

    Derived data, rewritten by the ``refresh_routing`` task when the board changes; pages and the
    API read it and never compute it. ``signature`` names the inputs (the pairs' evaluations and
    the analysis's parameters), so a refresh skips contexts whose inputs did not change.
    """

    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="+")
    ranking_class = models.CharField(max_length=80)
    local_set = models.CharField(max_length=40)
    signature = models.CharField(max_length=64)
    result = models.JSONField()
    synthetic = models.BooleanField(default=False)  # some pair's runs are simulated (demo data)
    pairs = models.PositiveIntegerField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataset_version", "ranking_class", "local_set"],
                name="routing_analysis_context",
            )
        ]

    def __str__(self) -> str:
        return f"routing {self.dataset_version_id}/{self.ranking_class}/{self.local_set}"
