"""Read-only board data as JSON, from the same querysets as the pages."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import queries


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    tied = serializers.BooleanField()
    submission = serializers.UUIDField()
    model = serializers.CharField()
    hardware = serializers.CharField()
    dataset = serializers.CharField()
    measurement_scope = serializers.CharField()
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


def row_dict(row: queries.RankedRow) -> dict[str, Any]:
    e = row.evaluation
    s = e.submission
    return {
        "rank": row.rank,
        "tied": row.tied,
        "submission": s.pk,
        "model": s.model.name,
        "hardware": s.hardware.label,
        "dataset": str(s.dataset_version),
        "measurement_scope": s.measurement_scope,
        "measurement_method": s.measurement_method,
        "accuracy": e.accuracy,
        "ipw": e.ipw,
        "ipw_low": e.ipw_low,
        "ipw_high": e.ipw_high,
        "ipj": e.ipj,
        "mean_power_w": e.mean_power_w,
        "mean_energy_j": e.mean_energy_j,
        "latency_p50_s": e.latency_p50_s,
        "synthetic": s.synthetic,
        "labels": list(s.labels),
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
    def get(self, request: Request) -> Response:
        query = queries.BoardQuery.from_params(request.query_params)
        rows = queries.with_ranks(list(queries.leaderboard(query)))
        return Response([row_dict(row) for row in rows])
