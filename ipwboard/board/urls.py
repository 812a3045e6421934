from __future__ import annotations

from django.urls import path

from . import views

app_name = "board"

# A pair's URL names everything that defines it: model, hardware, dataset version and scope.
PAIR = "pairs/<slug:model>/<slug:hardware>/<slug:dataset>/<str:version>/<slug:scope>/"

urlpatterns = [
    path("", views.leaderboard, name="leaderboard"),
    path(PAIR, views.pair, name="pair"),
    path(PAIR + "badge.svg", views.badge, name="badge"),
    path("agentic/", views.agentic_page, name="agentic"),
    path("compare/", views.compare, name="compare"),
    path("trends/", views.trends_page, name="trends"),
    path("routing/", views.routing_page, name="routing"),
    path("reasoning/", views.reasoning_page, name="reasoning"),
    path("models/<slug:slug>/", views.model_page, name="model"),
    path("hardware/<slug:slug>/", views.hardware_page, name="hardware"),
    path("methodology/", views.methodology, name="methodology"),
    path("submissions/<uuid:pk>/", views.submission_status, name="submission"),
]
