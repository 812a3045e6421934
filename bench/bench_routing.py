"""Benchmark: the routing analysis over 200 pairs x 1,000,000 queries, read from per-query files.

Targets on the 2-core reference machine: < 60 s and peak RSS < 1 GiB for the analysis, *including
reading the files*. The files are generated first (in a temporary directory, not timed) in the
board's own per-query layout (``evaluator.perquery.write_table``: clustered by domain and status,
zstd, every column of the public download), one per pair, with answers correlated through a
per-query difficulty, per-pair skill and energy, and a mix of device classes. The analysis then
runs in a child process (so its peak RSS is its own), exactly as the worker runs it: queries from
the first file, every pair through ``routing_io.read_pair``, both offered local sets, floors 0/2/5.

Usage: ``.venv/bin/python bench/bench_routing.py [--pairs 200] [--queries 1000000] [--keep DIR]``
Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 60.0
TARGET_RSS_MIB = 1024.0
DOMAINS = ["chat", "code", "law", "math", "medicine", "reasoning", "science", "writing"]
CLASSES = ["datacenter", "workstation", "desktop", "laptop", "phone", "edge"]
LOCAL_SETS = {
    "local": ("Not datacenter", ["workstation", "desktop", "laptop", "phone", "edge"]),
    "laptop-phone": ("Laptops and phones", ["laptop", "phone"]),
}


def _static(n: int, seed: int) -> dict:
    """What every pair's file shares: ids, domains, per-query difficulty."""
    rng = np.random.default_rng(seed)
    return {
        "domain": rng.integers(0, len(DOMAINS), n),
        "difficulty": rng.normal(0.0, 1.0, n).astype(np.float32),
        "length": rng.gamma(2.0, 1.0, n).astype(np.float32),  # relative answer length
    }


def _generate(args: tuple[int, int, str, int]) -> str:
    import pyarrow as pa

    from evaluator import perquery

    index, n, out, seed = args
    shared = _static(n, seed)
    rng = np.random.default_rng(seed + 1 + index)
    skill = rng.normal(0.8, 0.8) + rng.normal(0.0, 0.4, len(DOMAINS))
    logit = skill[shared["domain"]] - 1.5 * shared["difficulty"] + rng.logistic(0, 0.6, n)
    unscored = rng.random(n) < 0.002
    status = np.where(unscored, "unscored", np.where(logit > 0, "correct", "incorrect"))
    watts = float(np.exp(rng.normal(3.5, 1.2)))  # ~4 W phones to ~700 W racks
    latency = (shared["length"] * np.exp(rng.normal(1.0, 0.5))).astype(np.float64) + 0.05
    energy = latency * watts * rng.lognormal(0.0, 0.1, n)
    names = np.array(DOMAINS)
    table = pa.table(
        {
            "submission_id": pa.repeat(pa.scalar(f"pair-{index:03d}"), n),
            "position": pa.array(np.arange(n, dtype=np.int32)),
            "query_id": pa.array(np.char.add("q", np.arange(n).astype("U8"))),
            "domain": pa.array(names[shared["domain"]]),
            "method": pa.repeat(pa.scalar("mcq"), n),
            "status": pa.array(status),
            "energy_j": energy,
            "latency_s": latency,
            "power_w": energy / latency,
            "synthetic": pa.repeat(pa.scalar(True), n),
        }
    )
    for field in perquery.SCHEMA:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(n, field.type))
    path = os.path.join(out, f"pair-{index:03d}.parquet")
    perquery.write_table(table, path)
    return path


def generate(directory: Path, pairs: int, n: int, seed: int) -> list[str]:
    jobs = [(i, n, str(directory), seed) for i in range(pairs)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return list(pool.map(_generate, jobs))


def analyse(directory: Path) -> dict:
    """The child: the worker's path over the files in ``directory``."""
    from evaluator import routing_io
    from evaluator.routing import LocalSet, Pair, analyse

    files = sorted(str(p) for p in directory.glob("pair-*.parquet"))
    started = time.perf_counter()
    queries = routing_io.read_queries(files[0])
    pairs = [
        Pair(Path(f).stem, Path(f).stem, CLASSES[i % len(CLASSES)], synthetic=True)
        for i, f in enumerate(files)
    ]
    local_sets = [LocalSet(k, label, frozenset(c)) for k, (label, c) in LOCAL_SETS.items()]
    result = analyse(
        queries, pairs, lambda i: routing_io.read_pair(files[i], queries.n), local_sets
    )
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    view = result["local"]
    return {
        "seconds": seconds,
        "peak_rss_mib": rss,
        "bytes": len(json.dumps(result)),
        "coverage": view["coverage"],
        "policies": {
            p["id"]: {
                k: p[k]
                for k in ("accuracy", "accuracy_ci", "total_energy_j", "mean_power_w", "savings")
            }
            for p in view["policies"]
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    parser.add_argument("--analyse", type=Path, help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.analyse:
        print(json.dumps(analyse(args.analyse)))
        return 0

    directory = args.keep or Path(tempfile.mkdtemp(prefix="bench-routing-"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        existing = sorted(directory.glob("pair-*.parquet"))
        if len(existing) != args.pairs:
            started = time.perf_counter()
            generate(directory, args.pairs, args.queries, args.seed)
            size = sum(p.stat().st_size for p in directory.glob("pair-*.parquet"))
            print(
                f"generated {args.pairs} files x {args.queries:,} queries "
                f"({size / 2**30:.1f} GiB) in {time.perf_counter() - started:.0f} s"
            )
        child = subprocess.run(
            [sys.executable, __file__, "--analyse", str(directory)],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            print(child.stderr, file=sys.stderr)
            return 1
        out = json.loads(child.stdout)
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)

    cov = out["coverage"]
    print(
        f"coverage (local = not datacenter): any local pair {cov['any_local']:.1%}, "
        f"best local pair {cov['best_local']:.1%}, any pair {cov['any_pair']:.1%}"
    )
    for pid, p in out["policies"].items():
        low, high = p["accuracy_ci"]
        saving = p["savings"].get("vs_strongest_remote")
        print(
            f"  {pid:18} accuracy {p['accuracy']:.3f} [{low:.3f}, {high:.3f}]  "
            f"energy {p['total_energy_j'] / 1e6:9.2f} MJ  power {p['mean_power_w']:7.1f} W  "
            f"saving vs strongest remote {saving:+.1%}"
        )
    ok_time = out["seconds"] < TARGET_S
    ok_rss = out["peak_rss_mib"] < TARGET_RSS_MIB
    print(
        f"analysis of {args.pairs} pairs x {args.queries:,} queries: "
        f"{out['seconds']:.1f} s (target < {TARGET_S:.0f} s) {'ok' if ok_time else 'MISSED'}; "
        f"peak RSS {out['peak_rss_mib']:.0f} MiB (target < {TARGET_RSS_MIB:.0f}) "
        f"{'ok' if ok_rss else 'MISSED'}; result JSON {out['bytes'] / 1024:.0f} KiB"
    )
    return 0 if ok_time and ok_rss else 1


if __name__ == "__main__":
    sys.exit(main())
