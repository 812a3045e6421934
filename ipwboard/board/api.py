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

from . import columns, pagecache, queries


def _field(column: columns.Column) -> serializers.Field:
    null = bool(column.source) and columns.nullable(column.source)
    if column.type == "list":
        return serializers.ListField(child=serializers.CharField(), help_text=column.help)
    field = _FIELDS[column.type]
    return field(allow_null=null, help_text=column.help)


_FIELDS: dict[str, type[serializers.Field]] = {
    "string": serializers.CharField,
    "float": serializers.FloatField,
    "int": serializers.IntegerField,
    "bool": serializers.BooleanField,
    "uuid": serializers.UUIDField,
    "timestamp": serializers.DateTimeField,
}


def build_serializer() -> type[serializers.Serializer]:
    """The row's OpenAPI shape, from the column registry (rank and tie come from ranking)."""
    fields: dict[str, Any] = {
        "rank": serializers.IntegerField(help_text="Rank by IPW within the row's ranking class."),
        "tied": serializers.BooleanField(help_text="The IPW interval overlaps a neighbour's."),
        **{c.api_key: _field(c) for c in columns.on("api")},
    }
    return type("LeaderboardRowSerializer", (serializers.Serializer,), fields)


LeaderboardRowSerializer = build_serializer()


def row_dicts(rows: list[queries.TableRow]) -> list[dict[str, Any]]:
    """API rows: rank, tie and the registry's API columns under their API names."""
    # Worked out once per response, not per row (thousands of rows).
    spec = [(c.api_key, c.key, c.compute, c.type == "list") for c in columns.on("api")]
    out = []
    for row in rows:
        item = {"rank": row["rank"], "tied": row["tied"]}
        for name, key, compute, is_list in spec:
            value = compute(row) if compute else row[key]
            item[name] = list(value or ()) if is_list else value
        out.append(item)
    return out


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
    return row_dicts(queries.ranked_rows(query))
