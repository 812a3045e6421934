"""The catalog: models, hardware and benchmark datasets (with immutable versions)."""

from __future__ import annotations

from django.db import models


class AIModel(models.Model):
    """A model. Rows with a ``catalog_key`` mirror an entry of ``data/catalog/models.json`` (or
    one staff added); rows without one are names nobody has mapped yet (the catalog review
    queue). Submitters never define a model: their specs never overwrite these fields."""

    slug = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=200, unique=True, help_text="Canonical display name.")
    catalog_key = models.CharField(max_length=100, blank=True, db_index=True)
    organisation = models.CharField(max_length=100, blank=True)
    family = models.CharField(max_length=100, blank=True)
    params_total_b = models.FloatField(null=True, blank=True, help_text="Billions of parameters.")
    params_active_b = models.FloatField(
        null=True, blank=True, help_text="Billions active per token (MoE); total when dense."
    )
    architecture = models.CharField(max_length=20, blank=True)
    release_date = models.DateField(null=True, blank=True)
    licence = models.CharField(max_length=200, blank=True)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    reasoning = models.BooleanField(default=False)
    sources = models.JSONField(default=dict, blank=True, help_text="Figure -> source URL.")
    url = models.URLField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "model"

    def __str__(self) -> str:
        return self.name


class Hardware(models.Model):
    """An accelerator, SoC or CPU class. Rows with a ``catalog_key`` mirror an entry of
    ``data/catalog/accelerators.json`` (or one staff added); rows without one are labels nobody
    has mapped yet (the catalog review queue)."""

    class HardwareClass(models.TextChoices):
        LOCAL = "local", "Local (laptop, desktop, phone)"
        CLOUD = "cloud", "Cloud / data centre"

    slug = models.SlugField(max_length=200, unique=True)
    label = models.CharField(max_length=200, unique=True, help_text="Canonical display name.")
    catalog_key = models.CharField(max_length=100, blank=True, db_index=True)
    accelerator = models.CharField(max_length=200, blank=True)
    vendor = models.CharField(max_length=100, blank=True)
    family = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, blank=True)
    form_factor = models.CharField(max_length=20, blank=True)
    device_class = models.CharField(
        max_length=20, blank=True, help_text="datacenter, workstation, desktop, laptop, phone, edge"
    )
    hw_class = models.CharField(max_length=10, choices=HardwareClass.choices)
    memory_gb = models.FloatField(null=True, blank=True)
    memory_bandwidth_gbs = models.FloatField(null=True, blank=True)
    tdp_w = models.FloatField(null=True, blank=True)
    idle_power_low_w = models.FloatField(null=True, blank=True)
    idle_power_high_w = models.FloatField(null=True, blank=True)
    methods = models.JSONField(default=list, blank=True)
    release_date = models.DateField(null=True, blank=True)
    sources = models.JSONField(default=dict, blank=True, help_text="Figure -> source URL.")

    class Meta:
        ordering = ["label"]
        verbose_name_plural = "hardware"

    def __str__(self) -> str:
        return self.label


class CatalogAlias(models.Model):
    """A name that staff mapped to a catalog row (beyond the aliases in ``data/catalog/``).
    ``normalised`` is ``evaluator.catalog.normalise_name`` of the name."""

    class Kind(models.TextChoices):
        MODEL = "model"
        HARDWARE = "hardware"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200)
    normalised = models.CharField(max_length=200)
    model = models.ForeignKey(AIModel, null=True, blank=True, on_delete=models.CASCADE)
    hardware = models.ForeignKey(Hardware, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "normalised"], name="unique_alias_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} alias {self.name}"


class BenchmarkDataset(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    license = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class DatasetVersion(models.Model):
    """An immutable dataset version: its canonical file's SHA-256 is what bundles name."""

    dataset = models.ForeignKey(BenchmarkDataset, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=50)
    sha256 = models.CharField(max_length=64, unique=True)
    item_count = models.PositiveIntegerField()
    file = models.FileField(upload_to="datasets/", max_length=300)
    private_file = models.FileField(
        upload_to="datasets-private/",
        max_length=300,
        blank=True,
        help_text="Hidden references: kept out of every public download.",
    )
    references_private = models.BooleanField(default=False)
    # The items as Parquet in dataset order (``evaluator.itemfile``), for the drill-down's prompt
    # lookups and the dataset exports; written at registration (never with private references).
    items_file = models.FileField(upload_to="dataset-items/", max_length=300, blank=True)
    # Items only an LLM judge can score: decides whether submissions wait for judging.
    open_ended_items = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset__slug", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="unique_dataset_version")
        ]

    def __str__(self) -> str:
        return f"{self.dataset.slug}@{self.version}"
