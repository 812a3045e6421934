from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("submissions/", views.SubmissionListCreate.as_view(), name="submissions"),
    path("submissions/<uuid:pk>/", views.SubmissionDetail.as_view(), name="submission"),
    path("keys/", views.SigningKeyListCreate.as_view(), name="keys"),
    path("challenges/", views.ChallengeCreate.as_view(), name="challenges"),
    path("datasets/", views.DatasetVersionList.as_view(), name="datasets"),
]
