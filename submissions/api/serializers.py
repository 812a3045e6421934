"""API representations. Read-only serializers: writes go through services, not ModelSerializer."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from ..models import DatasetVersion, Evaluation, SigningKey, Submission


class EvaluationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evaluation
        fields = [
            "scorer_version",
            "n_queries",
            "n_scored",
            "n_correct",
            "accuracy",
            "accuracy_low",
            "accuracy_high",
            "ipw",
            "ipw_low",
            "ipw_high",
            "ipj",
            "ipj_low",
            "ipj_high",
            "mean_power_w",
            "mean_energy_j",
            "total_energy_j",
            "energy_per_1k_output_tokens_j",
            "throughput_tok_s",
            "ttft_p50_s",
            "ttft_p95_s",
            "latency_p50_s",
            "latency_p95_s",
            "claimed_accuracy",
            "per_domain",
            "labels",
            "created_at",
        ]


class SubmissionSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    model = serializers.CharField(source="model.name", default=None)
    hardware = serializers.CharField(source="hardware.label", default=None)
    dataset = serializers.SerializerMethodField()
    evaluation = EvaluationSerializer(source="current_evaluation", default=None)
    queue_position = serializers.SerializerMethodField()
    permalink = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "status",
            "review",
            "owner",
            "created_at",
            "started_at",
            "finished_at",
            "bundle_sha256",
            "bundle_size",
            "run_id",
            "key_fingerprint",
            "model",
            "hardware",
            "dataset",
            "measurement_scope",
            "measurement_method",
            "synthetic",
            "labels",
            "error_code",
            "report",
            "evaluation",
            "queue_position",
            "permalink",
        ]

    def get_dataset(self, obj: Submission) -> str | None:
        return str(obj.dataset_version) if obj.dataset_version_id else None

    def get_queue_position(self, obj: Submission) -> int | None:
        if obj.status != Submission.Status.QUEUED:
            return None
        return (
            Submission.objects.filter(
                status=Submission.Status.QUEUED, created_at__lt=obj.created_at
            ).count()
            + 1
        )

    def get_permalink(self, obj: Submission) -> str:
        request = self.context.get("request")
        path = reverse("board:submission", args=[obj.pk])
        return request.build_absolute_uri(path) if request else path


class SigningKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SigningKey
        fields = [
            "fingerprint",
            "name",
            "public_key",
            "state",
            "created_at",
            "retired_at",
            "revoked_at",
            "compromised_at",
        ]


class KeyRegisterSerializer(serializers.Serializer):
    public_key = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DatasetVersionSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(source="dataset.slug")
    name = serializers.CharField(source="dataset.name")
    license = serializers.CharField(source="dataset.license")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = [
            "slug",
            "name",
            "version",
            "sha256",
            "item_count",
            "license",
            "references_private",
            "created_at",
            "download_url",
        ]

    def get_download_url(self, obj: DatasetVersion) -> str:
        request = self.context.get("request")
        path = reverse("data:dataset-download", args=[obj.dataset.slug, obj.version])
        return request.build_absolute_uri(path) if request else path


class ChallengeSerializer(serializers.Serializer):
    nonce = serializers.CharField()
    expires_at = serializers.DateTimeField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"nonce": instance.nonce, "expires_at": instance.expires_at.isoformat()}
