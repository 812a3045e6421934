"""Read-only board data as JSON, from the same querysets as the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import pagecache, queries


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    tied = serializers.BooleanField()
    submission = serializers.UUIDField()
    model = serializers.CharField()
    hardware = serializers.CharField()
    dataset = serializers.CharField()
    measurement_scope = serializers.CharField()
    ranking_class = serializers.CharField()
    measurement_method = serializers.CharField()
    accuracy = serializers.FloatField()
    ipw = serializers.FloatField()
    ipw_low = serializers.FloatField()
    ipw_high = serializers.FloatField()
    ipj = serializers.FloatField()
    mean_power_w = serializers.FloatField()
    mean_energy_j = serializers.FloatField()
    latency_p50_s = serializers.FloatField()
    synthetic = serializers.BooleanField()
    labels = serializers.ListField(child=serializers.CharField())


def row_dict(row: queries.TableRow) -> dict[str, Any]:
    return {
        "rank": row["rank"],
        "tied": row["tied"],
        "submission": row["submission"],
        "model": row["model"],
        "hardware": row["hardware"],
        "dataset": f"{row['dataset_slug']}@{row['dataset_version']}",
        "measurement_scope": row["measurement_scope"],
        "ranking_class": row["ranking_class"] or row["measurement_scope"],
        "measurement_method": row["measurement_method"],
        "accuracy": row["accuracy"],
        "ipw": row["ipw"],
        "ipw_low": row["ipw_low"],
        "ipw_high": row["ipw_high"],
        "ipj": row["ipj"],
        "mean_power_w": row["mean_power_w"],
        "mean_energy_j": row["mean_energy_j"],
        "latency_p50_s": row["latency_p50_s"],
        "synthetic": row["synthetic"],
        "labels": list(row["labels"]),
    }


class LeaderboardAPI(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, required=False)
            for name in ("sort", "dir", "dataset", "scope", "hw_class", "vendor", "q", "all")
        ],
        responses=LeaderboardRowSerializer(many=True),
    )
    def get(self, request: Request) -> HttpResponse:
        # Public data, the same for every caller: cached per board version and filter state (as
        # the rows, and for JSON as the rendered bytes too).
        query = queries.BoardQuery.from_params(request.query_params)
        rows = pagecache.versioned("api:leaderboard", query.cache_key(), lambda: _rows(query))
        renderer = getattr(request, "accepted_renderer", None)
        if not isinstance(renderer, JSONRenderer) or type(renderer) is not JSONRenderer:
            # the browsable API (and any other format) renders per request
            return Response(rows)
        media_type = request.accepted_media_type
        body = pagecache.versioned(
            "api:leaderboard:json",
            f"{media_type}|{query.cache_key()}",
            lambda: renderer.render(rows, media_type, self.get_renderer_context()),
        )
        charset = renderer.charset
        content_type = (
            f"{renderer.media_type}; charset={charset}" if charset else renderer.media_type
        )
        return HttpResponse(body, content_type=content_type)


def _rows(query: queries.BoardQuery) -> list[dict[str, Any]]:
    return [row_dict(row) for row in queries.ranked_rows(query)]
