from __future__ import annotations

from django.urls import path

from . import views

app_name = "board"

urlpatterns = [
    path("", views.leaderboard, name="leaderboard"),
    path("submissions/<uuid:pk>/", views.submission_status, name="submission"),
]
