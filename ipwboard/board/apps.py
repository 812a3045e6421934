from __future__ import annotations

from django.apps import AppConfig


class BoardConfig(AppConfig):
    name = "ipwboard.board"
    label = "board"
    verbose_name = "Public board"

    def ready(self) -> None:
        from . import exports, readmodel, receivers, routing  # noqa: F401  (connect their signal receivers)
