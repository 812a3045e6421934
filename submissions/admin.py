"""Django admin for the catalog, identities and a staff view of submissions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import (
    AIModel,
    ApiToken,
    AuditLog,
    BenchmarkDataset,
    CatalogAlias,
    DatasetVersion,
    Evaluation,
    Hardware,
    JudgeVerdict,
    Organisation,
    SigningKey,
    Submission,
)
from .services.catalog_review import map_name
from .services.rescore import schedule_dataset_rescore, schedule_submission_rescores


class InCatalogFilter(admin.SimpleListFilter):
    """Rows mirrored from (or added to) the catalog vs names waiting in the review queue."""

    title = "catalog"
    parameter_name = "in_catalog"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "catalog entry"), ("no", "unmapped name (review queue)")]

    def queryset(self, request: Any, queryset: Any) -> Any:
        if self.value() == "yes":
            return queryset.exclude(catalog_key="")
        if self.value() == "no":
            return queryset.filter(catalog_key="")
        return queryset


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = (
        "name", "catalog_key", "family", "params_total_b", "params_active_b", "release_date"
    )  # fmt: skip
    list_filter = (InCatalogFilter, "family")
    search_fields = ("name", "family", "catalog_key")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Hardware)
class HardwareAdmin(admin.ModelAdmin):
    list_display = ("label", "catalog_key", "vendor", "device_class", "memory_gb", "tdp_w")
    list_filter = (InCatalogFilter, "device_class", "vendor")
    search_fields = ("label", "accelerator", "catalog_key")
    prepopulated_fields = {"slug": ("label",)}


@admin.register(CatalogAlias)
class CatalogAliasAdmin(admin.ModelAdmin):
    """Mapping a submitted name to a catalog row: saving re-checks the submissions waiting on it."""

    list_display = ("name", "kind", "model", "hardware", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)
    fields = ("kind", "name", "model", "hardware")

    def save_model(self, request: Any, obj: CatalogAlias, form: Any, change: bool) -> None:
        target = obj.hardware if obj.kind == CatalogAlias.Kind.HARDWARE else obj.model
        key = getattr(target, "catalog_key", "")
        if not key:
            raise ValidationError("map the name to a row that is a catalog entry (has a key)")
        ids = map_name(obj.kind, obj.name, key)
        self.message_user(request, f"Mapped; {len(ids)} submission(s) queued for a re-check.")


class DatasetVersionInline(admin.TabularInline):
    model = DatasetVersion
    extra = 0
    readonly_fields = ("version", "sha256", "item_count", "file", "references_private")
    can_delete = False


@admin.register(BenchmarkDataset)
class BenchmarkDatasetAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "license")
    inlines = [DatasetVersionInline]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    filter_horizontal = ("members",)


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    list_display = ("fingerprint", "owner", "name", "state", "created_at")
    list_filter = ("state",)
    readonly_fields = ("public_key", "fingerprint")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "owner", "name", "scope", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "token_hash")


class EvaluationInline(admin.TabularInline):
    model = Evaluation
    extra = 0
    fields = ("scorer_version", "accuracy", "ipw", "ipj", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "status", "review", "model", "hardware", "created_at")
    list_filter = ("status", "review", "catalog_pending", "synthetic", "hidden")
    search_fields = ("id", "run_id", "bundle_sha256", "owner__username")
    readonly_fields = [f.name for f in Submission._meta.fields]
    inlines = [EvaluationInline]
    actions = ["rescore"]

    @admin.action(description="Re-score selected submissions in the background")
    def rescore(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        queued, unchanged = schedule_submission_rescores(queryset)
        skipped = queryset.count() - queued - unchanged
        parts = [f"Queued re-scoring of {queued} submission(s)."]
        if unchanged:
            parts.append(
                f"{unchanged} would not change: they already have an evaluation with the current "
                "scorer version and judge (re-scoring is then a no-op), or were judged before "
                "and no judge is configured now. They were not queued."
            )
        if skipped:
            parts.append(f"{skipped} are not scored and were skipped.")
        level = messages.SUCCESS if queued else messages.WARNING
        self.message_user(request, " ".join(parts), level)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target")
    list_filter = ("action",)
    readonly_fields = ("created_at", "actor", "action", "target", "detail")


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "item_count", "references_private", "sha256", "created_at")
    list_filter = ("references_private",)
    readonly_fields = [f.name for f in DatasetVersion._meta.fields]  # versions are immutable
    actions = ["rescore_all"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # `manage.py import_dataset` writes the files and checks immutability

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Re-score all submissions in the background")
    def rescore_all(self, request: HttpRequest, queryset: QuerySet[DatasetVersion]) -> None:
        for version in queryset.select_related("dataset"):
            plan = schedule_dataset_rescore(version)
            if plan.total == 0:
                self.message_user(
                    request, f"{version}: no scored submissions to re-score.", messages.INFO
                )
            elif plan.noop:
                self.message_user(
                    request,
                    f"{version}: nothing to do. {plan.current} of {plan.total} scored "
                    f"submission(s) already have an evaluation with scorer version "
                    f"{plan.scorer_version}; re-scoring adds an evaluation only when the scorer "
                    "version or the judge changes." + _held(plan.held),
                    messages.WARNING,
                )
            else:
                self.message_user(
                    request,
                    f"{version}: re-scoring {plan.pending} of {plan.total} scored submission(s) "
                    f"in the background with scorer version {plan.scorer_version} "
                    f"({plan.current} already have it). Earlier evaluations are kept."
                    + _held(plan.held),
                    messages.SUCCESS,
                )


def _held(count: int) -> str:
    if not count:
        return ""
    return (
        f" {count} were judged before and no judge is configured now: they are left as they are "
        "(set IPWBOARD_JUDGE_URL to re-score them)."
    )


@admin.register(JudgeVerdict)
class JudgeVerdictAdmin(admin.ModelAdmin):
    list_display = ("item_key", "judge_id", "status", "created_at")
    list_filter = ("status", "judge_id")
    search_fields = ("item_key", "response_sha256")
    readonly_fields = [f.name for f in JudgeVerdict._meta.fields]
