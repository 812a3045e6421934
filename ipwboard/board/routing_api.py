"""/api/v1/routing/: the stored routing analyses as JSON (the page's data, never computed here)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import pagecache, routing_view
from .routing import LOCAL_SETS


def _payload(params: dict[str, str]) -> dict[str, Any]:
    known = routing_view.contexts()
    choice = routing_view.choose(params, known)
    row = routing_view.stored(choice) if choice else None
    return {
        "contexts": [{"dataset": d, "scope": s, "pairs": n} for d, s, n in known],
        "local_sets": [
            {"key": s.key, "label": s.label, "classes": sorted(s.classes)} for s in LOCAL_SETS
        ],
        "choice": None
        if choice is None
        else {"dataset": choice.dataset, "scope": choice.scope, "local": choice.local},
        "synthetic": bool(row and row.synthetic),
        "computed_at": row.computed_at.isoformat() if row else None,
        "analysis": row.result if row else None,
    }


class RoutingAPI(APIView):
    """Coverage and routing of one ranking context for one choice of what counts as local (the
    defaults when not given; ``contexts`` lists what exists). Every floor's policies are in
    ``analysis.policies``."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("dataset", str, required=False, description="slug@version"),
            OpenApiParameter("scope", str, required=False, description="ranking class"),
            OpenApiParameter("local", str, required=False, enum=[s.key for s in LOCAL_SETS]),
        ],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        params = {k: request.query_params.get(k, "") for k in ("dataset", "scope", "local")}
        ident = "|".join(params.values())
        return Response(pagecache.versioned("api:routing", ident, lambda: _payload(params)))
