"""Seed the embedded platform with SYNTHETIC demo submissions, through the real pipeline.

Registers the shipped datasets, a demo user with a signing key, then packs, signs and uploads one
bundle per demo pair with the same services the API uses. Only synthetic runs: never the reference
harness's real sample output, whose run id a newcomer must be able to submit.
A running Celery worker verifies and scores them; with ``--wait`` (the default) the command waits
until every demo submission is final. Idempotent: pairs already submitted are skipped.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.keys import (
    encode_public_key,
    generate_private_key,
    load_private_key,
    public_key_bytes,
    save_private_key,
)
from submissions import demo, services
from submissions.models import AIModel, Hardware, Submission

DATA = Path(settings.BASE_DIR) / "data" / "datasets"
DATASETS = (
    (DATA / "ipwboard-demo" / "1.jsonl", "IPW Board demo benchmark (generated)", "CC0-1.0"),
    (
        DATA / "ipw-mixed" / "1.jsonl",
        "IPW mixed 120 (reference harness workload)",
        "see data/datasets/README.md",
    ),
)


class Command(BaseCommand):
    help = "Seed synthetic demo submissions through the real pipeline (needs a running worker)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-wait", action="store_true", help="do not wait for the worker")
        parser.add_argument(
            "--timeout", type=float, default=300.0, help="seconds to wait for the worker"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        versions = [
            services.register_dataset_version(path, name=name, license=license_)
            for path, name, license_ in DATASETS
        ]
        demo_version, mixed_version = versions
        self._catalog()
        user, key = self._demo_identity()
        submitted = []
        with TemporaryDirectory() as tmp:
            runs = demo.demo_runs(
                services.engine_dataset(demo_version), services.engine_dataset(mixed_version)
            )
            for name, manifest, queries, trace in runs:
                submitted += self._submit(user, key, Path(tmp) / name, manifest, queries, trace)
        self.stdout.write(f"Queued {len(submitted)} demo submission(s).")
        if submitted and not options["no_wait"]:
            self._wait(submitted, options["timeout"])

    def _catalog(self) -> None:
        # Catalog metadata (release dates, sizes) is staff-curated data, not a measurement.
        for m in demo.MODELS:
            AIModel.objects.update_or_create(
                name=m.id,
                defaults={
                    "slug": m.id.replace("/", "-").replace(".", "-"),
                    "family": m.family,
                    "params_total_b": m.params_total_b,
                    "params_active_b": m.params_active_b,
                    "release_date": date.fromisoformat(m.release),
                },
            )
        for h in demo.HARDWARE:
            Hardware.objects.update_or_create(
                label=h.label,
                defaults={
                    "slug": h.label.lower().replace(" ", "-"),
                    "accelerator": h.accelerator,
                    "vendor": h.vendor,
                    "hw_class": h.hw_class,
                    "device_class": demo.DEVICE_CLASSES.get(h.label, ""),
                    "memory_gb": h.memory_gb,
                    "tdp_w": h.tdp_w,
                    "release_date": date.fromisoformat(h.release),
                },
            )

    def _demo_identity(self) -> tuple[Any, Any]:
        user, created = get_user_model().objects.get_or_create(
            username="demo", defaults={"first_name": "Demo data (synthetic)"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        key_path = Path(settings.DATA_DIR) / "demo" / "signing-key.pem"
        if key_path.exists():
            key = load_private_key(key_path)
        else:
            key_path.parent.mkdir(parents=True, exist_ok=True)
            key = generate_private_key()
            save_private_key(key, key_path)
        services.register_signing_key(user, encode_public_key(public_key_bytes(key)), "demo key")
        return user, key

    def _submit(
        self, user: Any, key: Any, path: Path, manifest: dict, queries: Any, trace: Any
    ) -> list[Submission]:
        if Submission.objects.filter(
            owner=user,
            original_filename=path.name,
            status__in=(
                Submission.Status.SCORED,
                Submission.Status.QUEUED,
                Submission.Status.RUNNING,
            ),
        ).exists():
            return []
        pack_bundle(path, manifest, queries, trace)
        sign_bundle(path, key)
        with path.open("rb") as fh:
            return [services.create_submission(owner=user, stream=fh, filename=path.name)]

    def _wait(self, submissions: list[Submission], timeout: float) -> None:
        ids = [s.pk for s in submissions]
        deadline = time.monotonic() + timeout
        self.stdout.write("Waiting for the worker to verify and score them…")
        while time.monotonic() < deadline:
            pending = Submission.objects.filter(pk__in=ids).exclude(status__in=Submission.FINAL)
            if not pending.exists():
                break
            time.sleep(1.0)
        else:
            raise CommandError(
                "Timed out waiting for the worker: is `celery -A ipwboard worker` running? "
                "The submissions stay queued and will be processed when it is."
            )
        for s in Submission.objects.filter(pk__in=ids).select_related("current_evaluation"):
            ev = s.current_evaluation
            figure = f"IPW {ev.ipw:.4f}/W" if ev else s.error_code
            self.stdout.write(f"  {s.original_filename}: {s.status} {figure}")
