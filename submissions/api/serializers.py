"""API representations. Read-only serializers: writes go through services, not ModelSerializer."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from ..models import ApiToken, DatasetVersion, Evaluation, SigningKey, Submission
from ..services.accounts import (
    estimated_wait_seconds,
    median_processing_seconds,
    queue_position,
)
from ..services.outcome import outcome


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


SUPERSEDES_HELP = (
    "Id of your accepted submission of the same measured run that this upload corrects (same "
    "run id and measured members, corrected manifest): it replaces that one once accepted."
)


class SubmissionSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    model = serializers.CharField(source="model.name", default=None, allow_null=True)
    hardware = serializers.CharField(source="hardware.label", default=None, allow_null=True)
    dataset = serializers.SerializerMethodField()
    evaluation = EvaluationSerializer(source="current_evaluation", default=None, allow_null=True)
    organisation = serializers.CharField(source="organisation.slug", default=None, allow_null=True)
    queue_position = serializers.SerializerMethodField()
    estimated_wait_s = serializers.SerializerMethodField(
        help_text="Median recent processing time x queue position (null when not queued)."
    )
    permalink = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField(
        help_text="What happened, in the status page's words: code, title, reason, next_step, "
        "exit_code (the CLI's), pair_url (on the board), replacement (superseded)."
    )
    superseded_by = serializers.UUIDField(
        source="superseded_by_id", read_only=True, allow_null=True
    )

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
            "organisation",
            "staff_reproduced",
            "withdrawn_at",
            "queue_position",
            "estimated_wait_s",
            "permalink",
            "outcome",
            "superseded_by",
        ]

    def get_dataset(self, obj: Submission) -> str | None:
        return str(obj.dataset_version) if obj.dataset_version_id else None

    # One COUNT per queued row, and one median per response (a list serializer shares this
    # instance across rows): the two fields below must not each repeat the same queries.
    def get_queue_position(self, obj: Submission) -> int | None:
        cache: dict[Any, int | None] = self.__dict__.setdefault("_positions", {})
        if obj.pk not in cache:
            cache[obj.pk] = queue_position(obj)
        return cache[obj.pk]

    def get_estimated_wait_s(self, obj: Submission) -> float | None:
        position = self.get_queue_position(obj)
        if position is None:
            return None
        if "_median_s" not in self.__dict__:
            self.__dict__["_median_s"] = median_processing_seconds()
        return estimated_wait_seconds(position, self.__dict__["_median_s"])

    def get_permalink(self, obj: Submission) -> str:
        return self._absolute(reverse("board:submission", args=[obj.pk]))

    def get_outcome(self, obj: Submission) -> dict[str, Any]:
        data = outcome(obj).to_dict()
        path = data.pop("pair_path")
        data["pair_url"] = self._absolute(path) if path else None
        return data

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class SigningKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SigningKey
        fields = [
            "id",
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


class KeyRevokeSerializer(serializers.Serializer):
    compromised_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the key may have leaked; bundles signed since then stop verifying.",
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=ApiToken.Scope.choices, default=ApiToken.Scope.SUBMIT)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    secret = serializers.CharField(help_text="Shown once: only its hash is stored.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class UploadConfigSerializer(serializers.Serializer):
    direct_uploads = serializers.BooleanField()
    threshold_bytes = serializers.IntegerField()
    max_bytes = serializers.IntegerField()


class UploadStartSerializer(serializers.Serializer):
    filename = serializers.CharField(max_length=255, default="bundle.ipwb")
    size = serializers.IntegerField(min_value=1, max_value=2**53)


class PresignedPartSerializer(serializers.Serializer):
    part_number = serializers.IntegerField()
    url = serializers.URLField()
    size = serializers.IntegerField()


class UploadedPartSerializer(serializers.Serializer):
    part_number = serializers.IntegerField()
    etag = serializers.CharField()
    size = serializers.IntegerField()


class DirectUploadSerializer(serializers.Serializer):
    upload_id = serializers.UUIDField(source="id")
    state = serializers.CharField()
    size = serializers.IntegerField()
    part_size = serializers.IntegerField()
    part_count = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    parts = PresignedPartSerializer(many=True, help_text="Presigned PUT URL per missing part.")
    uploaded_parts = UploadedPartSerializer(many=True)


class UploadFinaliseSerializer(serializers.Serializer):
    organisation = serializers.SlugField(required=False, allow_blank=True, default="")
    supersedes = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=SUPERSEDES_HELP
    )
