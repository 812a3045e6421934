from __future__ import annotations

from django.apps import AppConfig


class BoardConfig(AppConfig):
    name = "ipwboard.board"
    label = "board"
    verbose_name = "Public board"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to submissions.signals)
        from . import exports  # noqa: F401  (rebuilds exports on board_changed)
