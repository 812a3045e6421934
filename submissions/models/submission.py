"""Submissions, their evaluations and per-query results."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .catalog import AIModel, DatasetVersion, Hardware
from .identity import Challenge, Organisation


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
    # Held until staff map the manifest's model or hardware name to a catalog entry.
    catalog_pending = models.BooleanField(default=False, db_index=True)

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
        return (
            self.status == self.Status.SCORED
            and self.review in (self.Review.NONE, self.Review.APPROVED)
            and not self.hidden
            and self.withdrawn_at is None
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
    per_domain = models.JSONField(default=dict)
    checks = models.JSONField(default=list)
    labels = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "scorer_version"], name="one_evaluation_per_scorer_version"
            )
        ]


class QueryResult(models.Model):
    """Per-query outcome of an evaluation, for the drill-down table."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="queries")
    position = models.PositiveIntegerField()
    query_id = models.CharField(max_length=200)
    domain = models.CharField(max_length=100)
    method = models.CharField(max_length=30)
    status = models.CharField(max_length=10)
    extracted = models.TextField(blank=True)
    reason = models.TextField(blank=True)
    response = models.TextField(blank=True)
    energy_j = models.FloatField(null=True)
    latency_s = models.FloatField()
    ttft_s = models.FloatField(null=True)
    output_tokens = models.IntegerField(null=True)

    class Meta:
        ordering = ["evaluation", "position"]
        indexes = [models.Index(fields=["evaluation", "status"])]


class Fingerprint(models.Model):
    """Digests of accepted bundles (whole file, run id, member files): a replay is rejected.

    A unique constraint, not a lookup-then-insert, so two workers racing on copies of the same
    bundle cannot both win.
    """

    class Kind(models.TextChoices):
        BUNDLE = "bundle"
        RUN = "run"
        MEMBER = "member"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=200)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="unique_fingerprint")]


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
