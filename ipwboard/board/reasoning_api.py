"""/api/v1/reasoning/: the reasoning page's figures as JSON (``reasoning``: one entry per ranking,
one point per pair that reports reasoning tokens, or tool calls on an agentic ranking)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import pagecache, reasoning

_SLUG = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ReasoningQuerySerializer(serializers.Serializer):
    """The optional filters; a malformed one is a 400 ``request.invalid`` naming the field (a
    well-formed one that matches nothing is an empty list, as filters are elsewhere)."""

    dataset = serializers.RegexField(
        r"^[A-Za-z0-9][A-Za-z0-9._-]*(@[A-Za-z0-9][A-Za-z0-9._-]*)?$",
        max_length=120,
        required=False,
        error_messages={"invalid": "Expected a dataset slug, or slug@version."},
    )
    scope = serializers.RegexField(
        _SLUG,
        max_length=80,
        required=False,
        error_messages={"invalid": "Expected a ranking class, e.g. accelerator."},
    )


class ReasoningPointSerializer(serializers.Serializer):
    model = serializers.CharField()
    hardware = serializers.CharField()
    device_class = serializers.CharField()
    pair = serializers.CharField(help_text="The pair's page (path).")
    ipw = serializers.FloatField()
    ipw_low = serializers.FloatField()
    ipw_high = serializers.FloatField()
    accuracy = serializers.FloatField()
    reasoning_tokens = serializers.FloatField(
        allow_null=True,
        help_text="Mean hidden reasoning tokens per query (per task on agentic rankings); null "
        "when the run cannot tell them apart from output tokens.",
    )
    tool_calls = serializers.FloatField(allow_null=True, help_text="Mean tool calls per task.")
    turns = serializers.FloatField(allow_null=True, help_text="Mean model calls per task.")
    synthetic = serializers.BooleanField(help_text="A simulated run (demo data).")


class ReasoningRankingSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="slug@version")
    ranking_class = serializers.CharField()
    agentic = serializers.BooleanField()
    pairs = serializers.IntegerField(help_text="Ranked pairs, plotted or not.")
    pairs_with_reasoning_tokens = serializers.IntegerField()
    pairs_with_tool_calls = serializers.IntegerField(
        allow_null=True, help_text="Agentic rankings only."
    )
    synthetic = serializers.BooleanField(help_text="Some point is a simulated run.")
    points = ReasoningPointSerializer(many=True, help_text="Each pair's best result, best first.")


class ReasoningSerializer(serializers.Serializer):
    rankings = ReasoningRankingSerializer(many=True)


_ERROR = inline_serializer(
    "ReasoningError",
    {
        "error": inline_serializer(
            "ReasoningErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(required=False),
            },
        )
    },
)


def payload(dataset: str = "", scope: str = "") -> dict[str, Any]:
    slug, _, version = dataset.partition("@")
    chosen = [
        r
        for r in reasoning.rankings()
        if (not slug or r.dataset.partition("@")[0] == slug)
        and (not version or r.dataset.partition("@")[2] == version)
        and (not scope or r.scope == scope)
    ]
    return {"rankings": [reasoning.ranking_dict(r) for r in chosen]}


class ReasoningAPI(APIView):
    """IPW against reasoning tokens per query for every ranking (dataset version x ranking
    class), and against tool calls per task on agentic rankings: each ranked pair's best result.
    Pairs whose run reports neither are counted (``pairs``) but have no point."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", str, required=False, description="slug or slug@version"),
            OpenApiParameter("scope", str, required=False, description="ranking class"),
        ],
        responses={200: ReasoningSerializer, 400: _ERROR},
    )
    def get(self, request: Request) -> Response:
        query = ReasoningQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        dataset, scope = (
            query.validated_data.get("dataset", ""),
            query.validated_data.get("scope", ""),
        )
        # Public data, the same for every caller: cached per board version and filter.
        return Response(
            pagecache.versioned(
                "api:reasoning", f"{dataset}|{scope}", lambda: payload(dataset, scope)
            )
        )
