"""Benchmark: the leaderboard with 10,000 scored submissions over 2,000 pairs in PostgreSQL.

Measures, in one run:
1. server time of the leaderboard page and of its htmx fragment (Django test Client, median of N),
   both with a cold cache (cleared before every request: the SQL and the rendering) and warm. The
   board's read model (``BoardEntry``, one row per ranked submission) is a table written with each
   submission, not a cache: cold pages read it, as they read the submissions;
2. a loopback load test against gunicorn: requests per second for the page and for a static file
   of exactly the same size served by the same server (WhiteNoise), and the ratio.

Targets (issue 5): page < 50 ms median, fragment < 30 ms, page rate >= 1/3 of the static rate.

DATA: the rows are BULK-INSERTED straight into a scratch database (``ipwboard_bench`` on the
PostgreSQL of DATABASE_URL unless BENCH_DATABASE_URL names one), bypassing the pipeline. That is
for this benchmark only: 10,000 signed bundles would take an hour to evaluate and the board only
reads the rows (its read model is then computed in one go, as ``manage.py rebuild_board`` does).
The real pipeline feeds every test and the demo.

Usage: ``.venv/bin/python bench/bench_board.py [--pairs 2000] [--per-pair 5] [--repeat 40]
[--seconds 5] [--clients 8] [--workers 4]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCOPES = ("accelerator", "soc", "wall")
METHODS = {"accelerator": "nvml_counter", "soc": "powermetrics", "wall": "external_meter"}


def scratch_database_url() -> str:
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/ipwboard_bench"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(db_url: str, data_dir: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("IPWBOARD_ENV", "test")
    os.environ["IPWBOARD_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipwboard.settings")
    import django

    django.setup()


def populate(n_pairs: int, per_pair: int) -> None:
    """BENCHMARK ONLY: bulk-insert catalog rows, submissions and their evaluations."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from ipwboard.board import readmodel
    from ipwboard.board.models import BoardEntry
    from submissions.models import (
        AIModel,
        BenchmarkDataset,
        DatasetVersion,
        Evaluation,
        Hardware,
        Submission,
    )

    call_command("migrate", verbosity=0)
    if Evaluation.objects.count() == n_pairs * per_pair:
        print(f"reusing {n_pairs * per_pair} submissions already in the scratch database")
        if not BoardEntry.objects.exists():
            readmodel.rebuild()
        return
    with connection.cursor() as cursor:  # scratch database: start from nothing
        cursor.execute(
            # (Per-query results and dataset items are files now: no table of them to empty.)
            "TRUNCATE submissions_evaluation, submissions_fingerprint, "
            "submissions_submission, submissions_aimodel, submissions_hardware, "
            "submissions_datasetversion, submissions_benchmarkdataset "
            "RESTART IDENTITY CASCADE"
        )
    rng = random.Random(5)
    n_hw = 10
    n_models = n_pairs // n_hw
    with transaction.atomic():
        users = [get_user_model().objects.get_or_create(username=f"bench{i}")[0] for i in range(20)]
        ds = BenchmarkDataset.objects.create(slug="bench", name="bench")
        dv = DatasetVersion.objects.create(
            dataset=ds, version="1", sha256="0" * 64, item_count=100, file="datasets/bench.jsonl"
        )
        models = AIModel.objects.bulk_create(
            AIModel(
                slug=f"bench-model-{i}",
                name=f"bench/model-{i}",
                family=f"family{i % 17}",
                params_total_b=(p := rng.choice([1, 3, 8, 14, 32, 70])),
                params_active_b=p,
                release_date=date(2023, 1, 1) + timedelta(days=rng.randrange(1000)),
            )
            for i in range(n_models)
        )
        hardware = Hardware.objects.bulk_create(
            Hardware(
                slug=f"bench-hw-{i}",
                label=f"Bench HW {i}",
                accelerator=f"Accel {i}",
                vendor=f"Vendor{i % 4}",
                hw_class="local" if i % 2 else "cloud",
            )
            for i in range(n_hw)
        )
        subs: list[Submission] = []
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for m in models:
            for h_index, h in enumerate(hardware):
                scope = SCOPES[h_index % 3]
                for _ in range(per_pair):
                    when = start + timedelta(days=rng.randrange(600))
                    subs.append(
                        Submission(
                            id=uuid.uuid4(),
                            owner=rng.choice(users),
                            status=Submission.Status.SCORED,
                            bundle="bundles/bench.ipwb",
                            bundle_sha256=uuid.uuid4().hex,
                            bundle_size=1,
                            model=m,
                            hardware=h,
                            dataset_version=dv,
                            measurement_scope=scope,
                            ranking_class=scope,  # the usual class of the scope: the bare scope
                            measurement_method=METHODS[scope],
                            quantization=rng.choice(["bf16", "fp8", "q4_k_m"]),
                            engine="bench-engine",
                            synthetic=True,
                            labels=["synthetic", "no-challenge"],
                            manifest={"window": {"start": when.isoformat().replace("+00:00", "Z")}},
                            finished_at=when,
                        )
                    )
        Submission.objects.bulk_create(subs, batch_size=2000)
        evaluations = []
        for s in subs:
            accuracy = rng.uniform(0.2, 0.9)
            power = rng.uniform(5, 600)
            energy = power * rng.uniform(0.2, 2.0)
            ipw = accuracy / power
            evaluations.append(
                Evaluation(
                    submission=s,
                    scorer_version="bench",
                    n_queries=100,
                    n_scored=100,
                    n_correct=int(accuracy * 100),
                    accuracy=accuracy,
                    accuracy_low=accuracy * 0.9,
                    accuracy_high=min(1.0, accuracy * 1.1),
                    ipw=ipw,
                    ipw_low=ipw * 0.9,
                    ipw_high=ipw * 1.1,
                    ipj=accuracy / energy,
                    ipj_low=accuracy / energy * 0.9,
                    ipj_high=accuracy / energy * 1.1,
                    mean_power_w=power,
                    mean_energy_j=energy,
                    total_energy_j=energy * 100,
                    throughput_tok_s=rng.uniform(10, 500),
                    latency_p50_s=rng.uniform(0.1, 3),
                    latency_p95_s=rng.uniform(3, 6),
                )
            )
        Evaluation.objects.bulk_create(evaluations, batch_size=2000)
        for s, e in zip(subs, evaluations, strict=True):
            s.current_evaluation = e
        Submission.objects.bulk_update(subs, ["current_evaluation"], batch_size=2000)
        # Bulk writes send no signals: compute the board's read model as the pipeline would have.
        readmodel.rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"inserted {len(subs)} submissions over {n_pairs} pairs")


def time_requests(repeat: int) -> dict[str, float]:
    from django.core.cache import cache
    from django.test import Client

    client = Client()
    page_url = "/"
    results: dict[str, float] = {}
    for label, headers in (("page", {}), ("fragment", {"HTTP_HX_REQUEST": "true"})):
        for temperature in ("cold", "warm"):
            samples = []
            for _ in range(repeat):
                if temperature == "cold":
                    cache.clear()
                t0 = time.perf_counter()
                response = client.get(page_url, **headers)
                samples.append(time.perf_counter() - t0)
                assert response.status_code == 200
            results[f"{label} {temperature}"] = statistics.median(samples) * 1000
    return results


def other_urls() -> dict[str, str]:
    """The other public pages the load test visits: chart pages, the badge, the JSON API."""
    from ipwboard.board.pairs import PairKey
    from submissions.models import Submission

    subs = list(
        Submission.objects.select_related("model", "hardware", "dataset_version__dataset")
        .filter(measurement_scope="accelerator")
        .order_by("model__slug", "hardware__slug")[:20]
    )
    a, b = PairKey.of(subs[0]), PairKey.of(subs[-1])
    return {
        "trends": "/trends/",
        "pair": a.url(),
        "compare": f"/compare/?pairs={a.token},{b.token}",
        "badge": a.badge_url(),
        "methodology": "/methodology/",
        "api": "/api/v1/leaderboard/?scope=accelerator",
    }


def time_other(repeat: int) -> dict[str, float]:
    """Cold (cache cleared before each request) and warm medians of the other pages, anonymous."""
    from django.core.cache import cache
    from django.test import Client

    client = Client()
    results: dict[str, float] = {}
    for label, url in other_urls().items():
        for temperature in ("cold", "warm"):
            samples = []
            for _ in range(max(3, repeat // 4)):
                if temperature == "cold":
                    cache.clear()
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append(time.perf_counter() - t0)
                assert response.status_code == 200, (url, response.status_code)
            results[f"{label} {temperature}"] = statistics.median(samples) * 1000
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hammer(args: tuple[str, int, str, float]) -> int:
    import http.client

    host, port, path, seconds = args
    deadline = time.monotonic() + seconds
    count = 0
    conn = http.client.HTTPConnection(host, port, timeout=10)
    while time.monotonic() < deadline:
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                count += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.close()
    return count


def rate(port: int, path: str, seconds: float, clients: int) -> float:
    with mp.get_context("spawn").Pool(clients) as pool:
        _hammer(("127.0.0.1", port, path, 0.5))  # warm up (and fill the cache)
        counts = pool.map(_hammer, [("127.0.0.1", port, path, seconds)] * clients)
    return sum(counts) / seconds


def load_test(data_dir: str, seconds: float, clients: int, workers: int) -> tuple[float, float]:
    from django.test import Client

    body = Client().get("/").content
    static_dir = Path(data_dir) / "static" / "bench"
    static_dir.mkdir(parents=True, exist_ok=True)
    (static_dir / "page.html").write_bytes(body)  # same size as the page
    port = free_port()
    env = {**os.environ}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "ipwboard.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"page: {len(body)} bytes; static copy /static/bench/page.html")
        page_rate = rate(port, "/", seconds, clients)
        static_rate = rate(port, "/static/bench/page.html", seconds, clients)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return page_rate, static_rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--per-pair", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    args = parser.parse_args()

    db_url = scratch_database_url()
    ensure_database(db_url)
    data_dir = tempfile.mkdtemp(prefix="ipwboard-bench-")
    setup_django(db_url, data_dir)
    populate(args.pairs, args.per_pair)

    timings = time_requests(args.repeat)
    for name, ms in timings.items():
        print(f"{name:>16}: {ms:7.1f} ms median over {args.repeat}")
    for name, ms in time_other(args.repeat).items():
        print(f"{name:>16}: {ms:7.1f} ms median over {max(3, args.repeat // 4)}")
    page_rate, static_rate = load_test(data_dir, args.seconds, args.clients, args.workers)
    ratio = page_rate / static_rate if static_rate else 0.0
    print(
        f"load: page {page_rate:.0f} req/s, static file {static_rate:.0f} req/s, ratio {ratio:.2f}"
    )

    ok = timings["page cold"] < 50 and timings["fragment cold"] < 30 and ratio >= 1 / 3
    warm_ok = timings["page warm"] < 50 and timings["fragment warm"] < 30
    print(
        "targets (page < 50 ms, fragment < 30 ms, ratio >= 0.33): "
        f"cold {'met' if ok else 'NOT met'}; warm {'met' if warm_ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
