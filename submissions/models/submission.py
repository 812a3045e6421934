"""Submissions and their evaluations (per-query results are files: ``Evaluation.queries_file``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from .catalog import AIModel, DatasetVersion, Hardware
from .identity import Challenge, Organisation

# What the public may see, the one rule (design.md section 7): scored; not held for review nor
# denied; not hidden by staff; not withdrawn; not replaced by a corrected re-submission; not
# waiting for staff to map its model or hardware to the catalog. ``Submission.is_ranked`` is the
# same rule for one loaded row (a test holds the two equal); ``ipwboard.board.queries`` builds
# the board's ranking from ``public_q("submission__")``.
_PUBLIC: dict[str, Any] = {
    "status": "scored",
    "review__in": ("none", "approved"),
    "hidden": False,
    "withdrawn_at__isnull": True,
    "superseded_by__isnull": True,
    "catalog_pending": False,
}
# Taken off the board by its owner after being public: the permalink still answers (withdrawn: a
# tombstone; superseded: it leads to the replacement), without any figures.
_RETIRED_BY_OWNER = ("withdrawn_at__isnull", "superseded_by__isnull")


def public_q(prefix: str = "") -> Q:
    """The public rule as a filter; ``prefix`` reaches the submission from a related model
    (``public_q("submission__")`` on Evaluation)."""
    return Q(**{prefix + lookup: value for lookup, value in _PUBLIC.items()})


def permalink_q(prefix: str = "") -> Q:
    """Public, or public but for its owner's withdrawal or replacement (tombstone, redirect)."""
    kept = {k: v for k, v in _PUBLIC.items() if k not in _RETIRED_BY_OWNER}
    return Q(**{prefix + lookup: value for lookup, value in kept.items()})


class SubmissionQuerySet(models.QuerySet):
    def public(self) -> SubmissionQuerySet:
        """What anyone may see: pages, the API, exports, badges and downloads use this."""
        return self.filter(public_q())

    def visible_to(self, user: Any, *, permalinks: bool = False) -> SubmissionQuerySet:
        """What ``user`` may look up by id: staff everything, an owner their own, anyone else
        the public ones (with ``permalinks``: also withdrawn and superseded public ones)."""
        if getattr(user, "is_staff", False):
            return self.all()
        rule = permalink_q() if permalinks else public_q()
        if getattr(user, "is_authenticated", False):
            rule |= Q(owner=user)
        return self.filter(rule)


class Submission(models.Model):
    """One uploaded bundle and where it is in the pipeline.

    QUEUED -> RUNNING -> SCORED | REJECTED | FAILED. REJECTED is the submitter's fault (the report
    says why); FAILED is ours (a crash or time limit) and can be retried by staff.

    RUNNING -> JUDGING -> SCORED when the dataset has open-ended items and an LLM judge is
    configured: the validation worker accepts and records the bundle without waiting on the judge,
    and a worker of the I/O-bound "scoring" queue judges those items and publishes the result. A
    JUDGING submission is accepted (its bundle and fingerprints are kept) but not yet ranked.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        JUDGING = "judging"
        SCORED = "scored"
        REJECTED = "rejected"
        FAILED = "failed"

    FINAL = (Status.SCORED, Status.REJECTED, Status.FAILED)

    class Review(models.TextChoices):
        NONE = "none", "No review needed"
        PENDING = "pending", "Held for staff review"
        APPROVED = "approved", "Approved by staff"
        DENIED = "denied", "Not ranked after staff review"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    review = models.CharField(max_length=10, choices=Review.choices, default=Review.NONE)

    bundle = models.FileField(upload_to="bundles/", max_length=300)
    bundle_sha256 = models.CharField(max_length=64, db_index=True)
    bundle_size = models.BigIntegerField()
    original_filename = models.CharField(max_length=255, blank=True)

    # Filled from the verified manifest by the worker.
    run_id = models.CharField(max_length=100, blank=True, db_index=True)
    key_fingerprint = models.CharField(max_length=100, blank=True)
    challenge = models.ForeignKey(Challenge, null=True, blank=True, on_delete=models.SET_NULL)
    model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.PROTECT)
    hardware = models.ForeignKey(Hardware, null=True, blank=True, on_delete=models.PROTECT)
    dataset_version = models.ForeignKey(
        DatasetVersion, null=True, blank=True, on_delete=models.PROTECT
    )
    measurement_scope = models.CharField(max_length=20, blank=True)
    measurement_method = models.CharField(max_length=30, blank=True)
    sampling_period_s = models.FloatField(null=True, blank=True)
    # The rest of the measurement class (evaluator.measurement_classes): how each query was
    # charged its energy ("in_window" / "chained") and which rails energy_j sums
    # ("accelerator" / "soc" / "cpu_accelerator" / "wall"); and the workload track
    # ("single_turn" / "agentic"). Rankings never mix values of any of these.
    # What rankings never mix, as one slug (evaluator.measurement_classes.ranking_class): the scope
    # alone in the common case, qualified by attribution, basis and workload otherwise.
    ranking_class = models.CharField(max_length=80, blank=True, db_index=True)
    energy_attribution = models.CharField(max_length=20, blank=True)
    energy_basis = models.CharField(max_length=20, blank=True)
    workload_kind = models.CharField(max_length=20, blank=True)
    quantization = models.CharField(max_length=50, blank=True)
    engine = models.CharField(max_length=100, blank=True)
    harness = models.CharField(max_length=100, blank=True)
    synthetic = models.BooleanField(default=False)
    labels = models.JSONField(default=list, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    # Shape of the power trace (evaluator.fingerprint) and its sample count, to spot a trace
    # replayed from another bundle; the count narrows the candidates in SQL.
    trace_fingerprint = models.TextField(blank=True)
    trace_samples = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)

    # The machine-readable report: {"error": {...}} when rejected/failed, {"checks": [...]} always.
    report = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=100, blank=True, db_index=True)

    current_evaluation = models.ForeignKey(
        "Evaluation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    staff_reproduced = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False, help_text="Hidden by staff.")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # A corrected re-submission of the same measured run by its owner replaces this one; its
    # permalink then leads to the replacement.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    # The owner's accepted submission this upload asks to replace (``ipwboard submit
    # --supersedes``): honoured by the worker only for the same measured run (services.supersede).
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Held until staff map the manifest's model or hardware name to a catalog entry.
    catalog_pending = models.BooleanField(default=False, db_index=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def is_ranked(self) -> bool:
        """``Submission.objects.public()`` for one loaded row (tests hold the two equal)."""
        return (
            self.status == self.Status.SCORED
            and self.review in (self.Review.NONE, self.Review.APPROVED)
            and not self.hidden
            and self.withdrawn_at is None
            and self.superseded_by_id is None
            and not self.catalog_pending
        )


class Evaluation(models.Model):
    """The server's scoring of a submission with one scorer version. Never overwritten."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="evaluations")
    scorer_version = models.CharField(max_length=50)
    created_at = models.DateTimeField(auto_now_add=True)

    n_queries = models.PositiveIntegerField()
    n_scored = models.PositiveIntegerField()
    n_correct = models.PositiveIntegerField()
    accuracy = models.FloatField()
    accuracy_low = models.FloatField()
    accuracy_high = models.FloatField()
    ipw = models.FloatField(db_index=True)
    ipw_low = models.FloatField()
    ipw_high = models.FloatField()
    ipj = models.FloatField()
    ipj_low = models.FloatField()
    ipj_high = models.FloatField()
    mean_power_w = models.FloatField()
    mean_energy_j = models.FloatField()
    total_energy_j = models.FloatField()
    energy_per_1k_output_tokens_j = models.FloatField(null=True)
    throughput_tok_s = models.FloatField(null=True)
    ttft_p50_s = models.FloatField(null=True)
    ttft_p95_s = models.FloatField(null=True)
    latency_p50_s = models.FloatField()
    latency_p95_s = models.FloatField()
    claimed_accuracy = models.FloatField(null=True)
    # Per-query means of the optional per-query columns (``evaluator.metrics.MEAN_COLUMNS``: input
    # tokens, reasoning tokens, phase and rail energies, agentic turns and tool calls), over the
    # queries that report them; null when the bundle carries none. Columns, not JSON: the board
    # sorts and charts by them.
    mean_input_tokens = models.FloatField(null=True)
    mean_output_tokens = models.FloatField(null=True)
    mean_reasoning_tokens = models.FloatField(null=True)
    mean_prefill_energy_j = models.FloatField(null=True)
    mean_decode_energy_j = models.FloatField(null=True)
    mean_prefill_s = models.FloatField(null=True)
    mean_decode_s = models.FloatField(null=True)
    mean_cpu_energy_j = models.FloatField(null=True)
    mean_ane_energy_j = models.FloatField(null=True)
    mean_gpu_utilization_pct = models.FloatField(null=True)
    mean_turns = models.FloatField(null=True)
    mean_tool_calls = models.FloatField(null=True)
    mean_tool_s = models.FloatField(null=True)
    per_domain = models.JSONField(default=dict)
    checks = models.JSONField(default=list)
    labels = models.JSONField(default=list)
    # The charts' histograms and box-plot summaries, binned by the worker (``evaluator.bins``):
    # a few KB whatever the number of queries; the pages never read per-query values to draw.
    bins = models.JSONField(default=dict)
    # Every per-query row (responses, statuses, energies ...) as one Parquet file in the storage
    # backend (``evaluator.perquery``): the database keeps only the figures above.
    queries_file = models.FileField(upload_to="perquery/", max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "scorer_version"], name="one_evaluation_per_scorer_version"
            )
        ]


class Fingerprint(models.Model):
    """Digests of accepted bundles (whole file, run id, member files, measured content): a replay
    is rejected.

    A unique constraint, not a lookup-then-insert, so two workers racing on copies of the same
    bundle cannot both win. ``responses`` (the digest of a run's answers, ``evaluator.content``) is
    the exception: honest runs of one model can share their answers, so it is not unique; its
    ``detail`` holds the run's energy sketch, compared to spot copied measurements.
    """

    class Kind(models.TextChoices):
        BUNDLE = "bundle"
        RUN = "run"
        MEMBER = "member"
        CONTENT = "content"  # the measured content, blind to encoding, order and run id
        RESPONSES = "responses"  # the answers only: near-duplicate candidates, not unique

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=200)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    detail = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                condition=~models.Q(kind="responses"),
                name="unique_fingerprint",
            )
        ]
        indexes = [models.Index(fields=["kind", "value"], name="fingerprint_kind_value")]


class AuditLog(models.Model):
    """Who did what to a submission, key or token (staff actions, withdrawals, revocations)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=50)
    target = models.CharField(max_length=200)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class TracePreview(models.Model):
    """The run's power trace downsampled for display, written by the worker at scoring time.

    Its own table so that list queries of submissions never load it; only the pair page does.
    """

    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, primary_key=True, related_name="trace_preview"
    )
    samples = models.PositiveBigIntegerField(help_text="Samples in the bundle's trace.")
    t_s = models.JSONField(help_text="Seconds since the first sample.")
    power_w = models.JSONField()
