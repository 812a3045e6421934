"""``manage.py catalog``: sync rows from data/catalog, list the review queue, map a name.

manage.py catalog sync                       # upsert a row per catalog entry, fold aliases
manage.py catalog pending                    # unmapped names and how many submissions wait
manage.py catalog map hardware "Foo GPU" nvidia-h100-sxm   # map, then re-check the waiting
manage.py catalog recheck [ID ...]           # re-check pending submissions now (no worker)
manage.py catalog entries [--kind hardware|model] [--vendor nvidia]   # keys to map to
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluator.catalog import load_catalog
from submissions.models import Submission
from submissions.services.catalog_review import (
    UnknownCatalogKey,
    map_name,
    pending_names,
    recheck_submission,
)
from submissions.services.catalog_sync import sync_catalog


class Command(BaseCommand):
    help = "The model and hardware catalog: sync, review queue, mapping unknown names."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("sync", help="upsert a row per catalog entry; fold rows named by aliases")
        sub.add_parser("pending", help="names waiting in the catalog review queue")
        mapping = sub.add_parser("map", help="map an unknown name to a catalog entry")
        mapping.add_argument("kind", choices=["hardware", "model"], help="what the name names")
        mapping.add_argument("name", help="the name exactly as submitted")
        mapping.add_argument("key", help="the catalog entry's key (see `catalog entries`)")
        recheck = sub.add_parser("recheck", help="re-check catalog-pending submissions now")
        recheck.add_argument("ids", nargs="*", help="submission ids (default: all pending)")
        entries = sub.add_parser("entries", help="list catalog keys")
        entries.add_argument("--kind", choices=["hardware", "model"], default="hardware")
        entries.add_argument("--vendor", help="only this vendor (hardware)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "sync":
            hardware, models = sync_catalog()
            self.stdout.write(f"Synced {hardware} hardware and {models} model entries.")
        elif action == "pending":
            names = pending_names()
            if not any(names.values()):
                self.stdout.write("The catalog review queue is empty.")
            for kind, counts in names.items():
                for name, count in sorted(counts.items()):
                    self.stdout.write(f"{kind}\t{name}\t{count} submission(s) waiting")
        elif action == "map":
            try:
                ids = map_name(options["kind"], options["name"], options["key"])
            except UnknownCatalogKey as exc:
                raise CommandError(f"{exc}; `manage.py catalog entries` lists the keys") from exc
            self.stdout.write(
                f"Mapped {options['kind']} {options['name']!r} to {options['key']}; "
                f"{len(ids)} submission(s) queued for a re-check."
            )
        elif action == "recheck":
            ids = options["ids"] or [
                str(pk)
                for pk in Submission.objects.filter(catalog_pending=True).values_list(
                    "pk", flat=True
                )
            ]
            for submission_id in ids:
                self.stdout.write(f"{submission_id}: {recheck_submission(submission_id)}")
        elif action == "entries":
            catalog = load_catalog()
            if options["kind"] == "model":
                for model in sorted(catalog.models.values(), key=lambda m: m.key):
                    self.stdout.write(f"{model.key}\t{model.name}")
            else:
                for entry in catalog.accelerators_of(options.get("vendor")):
                    self.stdout.write(f"{entry.key}\t{entry.name}\t{entry.device_class}")
