"""Django admin for the catalog, identities and a staff view of submissions."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    AIModel,
    ApiToken,
    AuditLog,
    BenchmarkDataset,
    DatasetVersion,
    Evaluation,
    Hardware,
    Organisation,
    SigningKey,
    Submission,
)


@admin.register(AIModel)
class AIModelAdmin(admin.ModelAdmin):
    list_display = ("name", "family", "params_total_b", "params_active_b", "release_date")
    search_fields = ("name", "family")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Hardware)
class HardwareAdmin(admin.ModelAdmin):
    list_display = ("label", "vendor", "accelerator", "hw_class", "memory_gb", "tdp_w")
    list_filter = ("hw_class", "vendor")
    search_fields = ("label", "accelerator")
    prepopulated_fields = {"slug": ("label",)}


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
    list_filter = ("status", "review", "synthetic", "hidden")
    search_fields = ("id", "run_id", "bundle_sha256", "owner__username")
    readonly_fields = [f.name for f in Submission._meta.fields]
    inlines = [EvaluationInline]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "target")
    list_filter = ("action",)
    readonly_fields = ("created_at", "actor", "action", "target", "detail")
