"""Upload load: N concurrent submitters for a fixed time; nothing lost, nothing doubled, all
processed. Prints its figures and stops by itself.

    .venv/bin/python bench/load_uploads.py [--submitters 50] [--duration 60] [--think 10]

Starts a throwaway stack on loopback (PostgreSQL, Redis, two Celery worker processes, gunicorn),
gives every submitter its own account, token and signing key, and lets each upload distinct signed
bundles back to back (``--think`` seconds apart) for ``--duration`` seconds. Then it waits for the
workers to drain the queue and checks, in the database: every upload answered 201 exists exactly
once, no bundle was stored twice, every submission is SCORED with exactly one Evaluation.

Exit 1 if anything was lost, duplicated, refused or left unprocessed.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _stack import build_piles, count_rows, log, percentile, stack, submitters


def run_submitter(
    base: str, token: str, bundles: list[Path], deadline: float, think: float
) -> tuple[list[tuple[str, str]], list[float], Counter[str]]:
    accepted: list[tuple[str, str]] = []  # (submission id, bundle name)
    latencies: list[float] = []
    refused: Counter[str] = Counter()
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for bundle in bundles:
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            try:
                with bundle.open("rb") as fh:
                    response = client.post(
                        "/api/v1/submissions/", files={"bundle": (bundle.name, fh)}
                    )
            except httpx.HTTPError as exc:
                refused[type(exc).__name__] += 1
                continue
            latencies.append(time.perf_counter() - started)
            if response.status_code == 201:
                accepted.append((response.json()["id"], bundle.name))
            else:
                refused[f"HTTP {response.status_code}"] += 1
            time.sleep(think)
        else:
            refused["ran out of prepared bundles"] += 1
    return accepted, latencies, refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submitters", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument(
        "--think", type=float, default=10.0, help="seconds between a submitter's uploads"
    )
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    args = parser.parse_args()

    per_submitter = int(args.duration / max(args.think, 0.05)) + 3
    with stack(web_workers=3, web_threads=4, worker_processes=args.workers, seed_demo=False) as s:
        # The dataset the bundles name (seed_demo is skipped: nothing else on the board).
        from tests.reliability.servers import manage

        manage(s.env, "shell", "-c", "from pathlib import Path; from submissions import services; "
               "services.register_dataset_version(Path('data/datasets/ipwboard-demo/1.jsonl'), "
               "name='demo', license='CC0-1.0')")  # fmt: skip
        identities = submitters(s.env, [f"submitter-{n:02d}" for n in range(args.submitters)])
        log(f"building {args.submitters} x {per_submitter} distinct signed bundles")
        started = time.perf_counter()
        piles = build_piles(
            [
                (s.workdir / f"u{n:02d}", pem, per_submitter, 100_000 * (n + 1))
                for n, (_, pem) in enumerate(identities)
            ]
        )
        log(f"built in {time.perf_counter() - started:.0f}s; "
            f"{args.submitters} submitters for {args.duration:.0f}s")  # fmt: skip

        deadline = time.monotonic() + args.duration
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.submitters) as pool:
            outcomes = list(
                pool.map(
                    lambda job: run_submitter(s.url, job[0][0], job[1], deadline, args.think),
                    zip(identities, piles, strict=True),
                )
            )
        upload_window = time.perf_counter() - t0
        accepted = [a for outcome in outcomes for a in outcome[0]]
        latencies = [x for outcome in outcomes for x in outcome[1]]
        refused: Counter[str] = Counter()
        for outcome in outcomes:
            refused.update(outcome[2])
        refused.pop("ran out of prepared bundles", None)

        log(f"{len(accepted)} accepted; waiting for the workers to drain the queue")
        drain_start = time.perf_counter()
        while time.perf_counter() - drain_start < args.drain_timeout:
            open_rows = count_rows(s.env, "select count(*) from submissions_submission "
                                          "where status in ('queued', 'running')")[0][0]  # fmt: skip
            if open_rows == 0:
                break
            time.sleep(1)
        drained = time.perf_counter() - drain_start

        rows = count_rows(s.env, "select id::text, status, bundle_sha256, original_filename "
                                 "from submissions_submission")  # fmt: skip
        evaluations = dict(count_rows(s.env, "select submission_id::text, count(*) from "
                                             "submissions_evaluation group by 1"))  # fmt: skip

    ids = {pk for pk, *_ in rows}
    lost = [pk for pk, _ in accepted if pk not in ids]
    shas = Counter(sha for _, _, sha, _ in rows)
    duplicates = sum(n - 1 for n in shas.values() if n > 1)
    statuses = Counter(status for _, status, _, _ in rows)
    not_scored = len(rows) - statuses.get("scored", 0)
    bad_evaluations = [pk for pk in ids if evaluations.get(pk, 0) != 1]
    total = len(accepted) + sum(refused.values())
    p50, p95, p99 = (percentile(latencies, q) * 1000 for q in (50, 95, 99))

    print("\nupload load")
    print(f"  submitters    {args.submitters} for {upload_window:.1f}s (think {args.think}s)")
    print(f"  uploads       {total} sent, {len(accepted)} accepted "
          f"({len(accepted) / upload_window:.1f}/s), refused {dict(refused) or 0}")  # fmt: skip
    print(f"  latency ms    p50 {p50:.0f}  p95 {p95:.0f}  p99 {p99:.0f}")
    print(
        f"  processing    drained {drained:.0f}s after the last upload; statuses {dict(statuses)}"
    )
    print(f"  lost {len(lost)}  duplicate bundles {duplicates}  not scored {not_scored}  "
          f"submissions without exactly one evaluation {len(bad_evaluations)}")  # fmt: skip
    ok = not (lost or duplicates or not_scored or bad_evaluations or refused) and accepted
    print(f"  verdict       {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
