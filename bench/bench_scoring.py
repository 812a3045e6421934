"""Benchmark: re-score 1,000,000 responses over the ipw-mixed items, and compute_metrics on 1M queries.

Targets on the 2-core reference machine (issues 4 and 13): scoring < 30 s on both cores,
compute_metrics (bootstrap) < 5 s. Responses are generated from templates modelled on real harness
output (verbose option analysis, "The answer is (X)", boxed LaTeX, units, wrong letters before the
final one, refusals, empty ones), with random numbers in the reasoning so that no two responses are
alike. No judge: llm_judge items come out unscored.

Scoring goes through the engine's batch scorer (``evaluator.scoring.batch.score_batches``, what
``evaluate`` runs): Arrow settles the plain rows, the per-row scorers the rest, in ``--processes``
processes (default: one per core), 65,536 rows a batch as the engine streams them.

Usage: ``.venv/bin/python bench/bench_scoring.py [--n 1000000] [--seed 0] [--processes N]``
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluator.datasets import load_dataset  # noqa: E402
from evaluator.limits import DEFAULT_LIMITS  # noqa: E402
from evaluator.metrics import MetricInputs, compute_metrics  # noqa: E402
from evaluator.results import STATUSES  # noqa: E402
from evaluator.scoring.batch import score_batches  # noqa: E402
from evaluator.types import DatasetItem  # noqa: E402

DATASET = ROOT / "data" / "datasets" / "ipw-mixed" / "1.jsonl"
TARGET_SCORING_S, TARGET_METRICS_S = 30.0, 5.0


def choice_response(item: DatasetItem, rng: random.Random) -> str:
    options = dict(item.params["options"])
    letters = sorted(options)
    pick = item.reference if rng.random() < 0.7 else rng.choice(letters)
    wrong = rng.choice(letters)
    style = rng.randrange(7)
    n = rng.randint(2, 999)
    if style == 0:
        lines = "\n".join(
            f"{k}. {v}: " + ("This is the correct answer." if k == pick else "This is not correct.")
            for k, v in options.items()
        )
        return (
            f"To answer this question, let's analyze each option:\n\n{lines}\n\n"
            f"Step {n}: by elimination, {options[pick]} fits best.\n\n"
            f"The correct answer is {pick}. {options[pick]}."
        )
    if style == 1:
        return f"The answer is ({pick}) {options[pick]}.\n\nExplanation: reason #{n} applies here."
    if style == 2:
        return f"{pick}. {options[pick]}\n\nThis follows from fact {n}."
    if style == 3:
        return (
            f"At first {wrong} looks tempting (note {n}), but on reflection the answer is {pick}."
        )
    if style == 4:
        return f"Working through it ({n} steps)...\n\n$\\boxed{{{pick}}}$"
    if style == 5:
        return f"I think it's the {options[pick]}, based on clue {n}."
    return "" if n % 2 else "I'm sorry, but I can't help with that."


def numeric_response(item: DatasetItem, rng: random.Random) -> str:
    ref = item.reference or "0"
    value = ref if rng.random() < 0.7 else str(rng.randint(1, 5000))
    n, m = rng.randint(2, 99), rng.randint(2, 99)
    style = rng.randrange(6)
    if style == 0:
        return f"## Step 1: {n} × {m} = {n * m}.\n\n## Step 2: so we get {value}.\n\nThe final answer is: $\\boxed{{{value}}}$"
    if style == 1:
        return f"To solve this, {n} + {m} = {n + m}, and then the result is {value}.\n\nThe answer is {value}."
    if style == 2:
        return f"Area = {n} × {m} = {value} cm².\n\n**Answer:** {value} cm²"
    if style == 3:
        return f"We compute {n}/{m} first, then {value}. Final answer: {value}"
    if style == 4:
        return f"Let x = {n}. Then 2x = {2 * n}, so the value is {value}"
    return f"The result is \\frac{{{n}}}{{{m}}}... no wait, it is {value}."


def judge_response(item: DatasetItem, rng: random.Random) -> str:
    return (
        f"Sure! Here is an answer with {rng.randint(1, 9)} points. " + (item.reference or "")[:200]
    )


def generate(items: tuple[DatasetItem, ...], n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    makers = {
        "letter_match": choice_response,
        "numeric_match": numeric_response,
        "llm_judge": judge_response,
        "exact_match": lambda item, rng: f"The answer is {item.reference}.",
    }
    return [makers[items[i % len(items)].method](items[i % len(items)], rng) for i in range(n)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    dataset = load_dataset(DATASET)
    items = tuple(dataset.items)

    t0 = time.perf_counter()
    responses = generate(items, args.n, args.seed)
    unique = len(set(responses))
    column = pa.array(responses, pa.string())
    del responses
    # Row i answers item i % len(items), as the engine's batches pair rows with their items.
    table = dataset.columns.table.take(pa.array(np.arange(args.n) % len(items)))
    t_gen = time.perf_counter() - t0

    step = DEFAULT_LIMITS.batch_rows
    batches = (
        (table.slice(start, step), column.slice(start, step)) for start in range(0, args.n, step)
    )
    t0 = time.perf_counter()
    parts, per_row = [], 0
    for scores in score_batches(batches, processes=args.processes):
        parts.append(scores.status)
        per_row += scores.per_row
    status = np.concatenate(parts)
    t_score = time.perf_counter() - t0
    statuses = Counter(
        {STATUSES[code]: int(count) for code, count in enumerate(np.bincount(status, minlength=3))}
    )

    rng = np.random.default_rng(args.seed)
    latency = rng.uniform(0.2, 8.0, args.n)
    inputs = MetricInputs(
        correct=status == STATUSES.index("correct"),
        scored=status != STATUSES.index("unscored"),
        energy_j=latency * rng.uniform(80, 400, args.n),
        latency_s=latency,
        ttft_s=rng.uniform(0.02, 0.5, args.n),
        output_tokens=rng.integers(5, 800, args.n).astype(float),
        domains=[items[i % len(items)].domain for i in range(args.n)],
    )
    t0 = time.perf_counter()
    metrics = compute_metrics(inputs, seed=0, resamples=1000)
    t_metrics = time.perf_counter() - t0

    print(f"responses generated   {args.n:,} ({unique:,} distinct) in {t_gen:.1f} s")
    print(
        f"scoring               {t_score:.1f} s  ({t_score / args.n * 1e6:.1f} us/response, "
        f"{args.processes} process(es); {per_row:,} rows per row, the rest by Arrow)  "
        f"{dict(statuses)}"
    )
    print(f"compute_metrics       {t_metrics:.2f} s  (1000 bootstrap resamples)")
    print(
        f"  accuracy {metrics.accuracy:.4f} [{metrics.accuracy_ci.low:.4f}, {metrics.accuracy_ci.high:.4f}]"
        f"  IPW {metrics.ipw:.6f} [{metrics.ipw_ci.low:.6f}, {metrics.ipw_ci.high:.6f}]"
    )
    ok = t_score < TARGET_SCORING_S and t_metrics < TARGET_METRICS_S
    print(
        f"targets (scoring < {TARGET_SCORING_S:g} s, metrics < {TARGET_METRICS_S:g} s):",
        "met" if ok else "NOT met",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
