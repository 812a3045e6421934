"""Top-level URLs: the board, the API under /api/v1/, accounts and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from .board import api as board_api
from .board.reasoning_api import ReasoningAPI
from .board.routing_api import RoutingAPI
from .health import healthz

api_v1 = [
    path("", include("submissions.api.urls")),
    path("leaderboard/", board_api.LeaderboardAPI.as_view(), name="leaderboard"),
    path("routing/", RoutingAPI.as_view(), name="routing"),
    path("reasoning/", ReasoningAPI.as_view(), name="reasoning"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/", include("submissions.web.urls")),
    path("data/", include("ipwboard.board.data_urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("ipwboard.board.urls")),
]

# JSON errors for /api/ paths (``{"error": {"code", "message"}}``); Django's pages elsewhere.
handler404 = "submissions.api.errors.not_found"
handler500 = "submissions.api.errors.server_error"
