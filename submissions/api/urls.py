from __future__ import annotations

from django.urls import path

from . import account_views, upload_views, views

urlpatterns = [
    path("submissions/", views.SubmissionListCreate.as_view(), name="submissions"),
    path("submissions/<uuid:pk>/", views.SubmissionDetail.as_view(), name="submission"),
    path(
        "submissions/<uuid:pk>/withdraw/",
        account_views.SubmissionWithdraw.as_view(),
        name="submission-withdraw",
    ),
    path("uploads/", upload_views.DirectUploadStart.as_view(), name="uploads"),
    path("uploads/<uuid:pk>/", upload_views.DirectUploadDetail.as_view(), name="upload"),
    path(
        "uploads/<uuid:pk>/finalise/",
        upload_views.DirectUploadFinalise.as_view(),
        name="upload-finalise",
    ),
    path("keys/", views.SigningKeyListCreate.as_view(), name="keys"),
    path("keys/<int:pk>/retire/", account_views.SigningKeyRetire.as_view(), name="key-retire"),
    path("keys/<int:pk>/revoke/", account_views.SigningKeyRevoke.as_view(), name="key-revoke"),
    path("tokens/", account_views.ApiTokenListCreate.as_view(), name="tokens"),
    path("tokens/<int:pk>/", account_views.ApiTokenRevoke.as_view(), name="token"),
    path("challenges/", views.ChallengeCreate.as_view(), name="challenges"),
    path("datasets/", views.DatasetVersionList.as_view(), name="datasets"),
]
