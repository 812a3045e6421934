from __future__ import annotations

from django.urls import path

from . import staff, views

app_name = "account"

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("signup/", views.signup, name="signup"),
    path("verify-email/<str:token>/", views.verify_email, name="verify-email"),
    path("verify-email/", views.verification_resend, name="verification-resend"),
    path("tokens/", views.token_create, name="token-create"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("keys/", views.key_register, name="key-register"),
    path("keys/<int:pk>/retire/", views.key_retire, name="key-retire"),
    path("keys/<int:pk>/revoke/", views.key_revoke, name="key-revoke"),
    path("organisations/", views.organisation_create, name="org-create"),
    path(
        "organisations/<slug:slug>/members/",
        views.organisation_add_member,
        name="org-add-member",
    ),
    path("organisations/<slug:slug>/leave/", views.organisation_leave, name="org-leave"),
    path("submissions/<uuid:pk>/withdraw/", views.submission_withdraw, name="submission-withdraw"),
    path(
        "submissions/<uuid:pk>/organisation/",
        views.submission_organisation,
        name="submission-organisation",
    ),
    path("review/", staff.review_queue, name="review"),
    path("review/<uuid:pk>/", staff.moderate, name="moderate"),
]
