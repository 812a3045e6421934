"""Recompute the board's read model (``BoardEntry``) from the submissions, e.g. after a raw SQL
repair or a bulk import that bypassed ``Model.save()``; then retire every cached board page."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ipwboard.board import readmodel, receivers


class Command(BaseCommand):
    help = "Recompute the board's ranked entries from the submissions and retire cached pages."

    def handle(self, *args: Any, **options: Any) -> None:
        count = readmodel.rebuild()
        receivers.bump(strict=True)  # anything may have changed, removals included
        self.stdout.write(f"{count} ranked entries")
