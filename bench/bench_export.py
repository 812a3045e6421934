"""Build the full-board CSV export of 10,000 scored submissions (target: < 5 s).

Seeds a fresh database (SQLite in a temporary directory by default, or ``--database-url``
postgres://... for a throwaway PostgreSQL database, which it migrates) with N ranked submissions
and times ``ipwboard.board.exports.build_board_csv`` and the whole rebuild (CSV, JSON, Parquet).
Run: ``.venv/bin/python bench/bench_export.py [--rows 10000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def seed(rows: int) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from submissions.models import (
        AIModel,
        BenchmarkDataset,
        DatasetVersion,
        Evaluation,
        Hardware,
        Submission,
    )

    owner = get_user_model().objects.create_user("bench", "b@example.org", "x")
    models = AIModel.objects.bulk_create(
        AIModel(slug=f"m{i}", name=f"org/model-{i}", family="bench", params_total_b=i + 1)
        for i in range(50)
    )
    hardware = Hardware.objects.bulk_create(
        Hardware(slug=f"h{i}", label=f"GPU {i}", vendor="acme", hw_class="cloud") for i in range(20)
    )
    bench = BenchmarkDataset.objects.create(slug="bench", name="bench")
    version = DatasetVersion.objects.create(
        dataset=bench, version="1", sha256="0" * 64, item_count=100, file="datasets/x.jsonl"
    )
    now = timezone.now()
    submissions = Submission.objects.bulk_create(
        (
            Submission(
                id=uuid.uuid4(),
                owner=owner,
                status=Submission.Status.SCORED,
                bundle=f"bundles/{i}.ipwb",
                bundle_sha256=f"{i:064x}",
                bundle_size=1000,
                model=models[i % len(models)],
                hardware=hardware[i % len(hardware)],
                dataset_version=version,
                measurement_scope="accelerator",
                measurement_method="nvml_energy",
                harness="bench 1",
                labels=["no-challenge", "-formula"] if i % 7 == 0 else [],
                synthetic=i % 2 == 0,
                finished_at=now,
            )
            for i in range(rows)
        ),
        batch_size=2000,
    )
    evaluations = Evaluation.objects.bulk_create(
        (
            Evaluation(
                submission=s,
                scorer_version="bench-1",
                n_queries=100,
                n_scored=100,
                n_correct=50 + i % 50,
                accuracy=0.5 + (i % 50) / 100,
                accuracy_low=0.4,
                accuracy_high=0.9,
                ipw=0.001 * (1 + i % 97),
                ipw_low=0.0009,
                ipw_high=0.1,
                ipj=0.0001 * (1 + i % 89),
                ipj_low=0.00009,
                ipj_high=0.01,
                mean_power_w=200.0 + i % 100,
                mean_energy_j=300.0,
                total_energy_j=30000.0,
                energy_per_1k_output_tokens_j=12.5,
                throughput_tok_s=80.0,
                ttft_p50_s=0.1,
                ttft_p95_s=0.3,
                latency_p50_s=1.5,
                latency_p95_s=3.0,
                claimed_accuracy=None,
            )
            for i, s in enumerate(submissions)
        ),
        batch_size=2000,
    )
    for s, e in zip(submissions, evaluations, strict=True):
        s.current_evaluation = e
    Submission.objects.bulk_update(submissions, ["current_evaluation"], batch_size=2000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ipwb-bench-export-") as tmp:
        os.environ.update(
            {
                "IPWBOARD_ENV": "embedded",
                "IPWBOARD_DATA_DIR": tmp,
                "DATABASE_URL": args.database_url,
                "REDIS_URL": "",
                "CELERY_BROKER_URL": "",
                "AWS_STORAGE_BUCKET_NAME": "",
                "DJANGO_SETTINGS_MODULE": "ipwboard.settings",
                "DJANGO_LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from django.db import connection

        started = time.perf_counter()
        seed(args.rows)
        print(
            f"seeded {args.rows} submissions on {connection.vendor} in {time.perf_counter() - started:.1f} s"
        )

        from ipwboard.board import exports

        out = Path(tmp) / "board.csv"
        started = time.perf_counter()
        count = exports.build_board_csv(out)
        csv_s = time.perf_counter() - started
        print(
            f"full-board CSV: {count} rows, {out.stat().st_size / 1024**2:.1f} MiB in {csv_s:.2f} s"
        )
        started = time.perf_counter()
        manifest = exports.regenerate_exports()
        all_s = time.perf_counter() - started
        print(
            f"whole rebuild (CSV + JSON + Parquet + manifest): {all_s:.2f} s, {manifest['row_count']} rows"
        )
        ok = count == args.rows and csv_s < 5
        print("target (CSV of 10,000 < 5 s):", "met" if ok else "MISSED")
        if args.database_url:
            call_command("flush", "--no-input", verbosity=0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
