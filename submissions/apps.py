from __future__ import annotations

from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    name = "submissions"
    verbose_name = "Submissions and catalog"
    default_auto_field = "django.db.models.BigAutoField"
