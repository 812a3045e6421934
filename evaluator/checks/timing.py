"""Timing consistency: durations are positive and timestamps agree with them and the window."""

from __future__ import annotations

import numpy as np

from evaluator.bundle.tables import QueryColumns
from evaluator.errors import BundleError, register
from evaluator.limits import DEFAULT_LIMITS, Limits
from evaluator.types import Check

QUERIES = "queries.parquet"
LATENCY = register("bundle.timing.latency_nonpositive", "A query's latency_s is zero or negative.")
TTFT_NEGATIVE = register("bundle.timing.ttft_negative", "A query's ttft_s is negative.")
TTFT_LATENCY = register(
    "bundle.timing.ttft_exceeds_latency",
    "A query's first token comes after its end (ttft > latency).",
)
ORDER = register(
    "bundle.timing.order",
    "A query's timestamps are out of order (start <= first token <= end is violated).",
)
OUTSIDE = register(
    "bundle.timing.outside_window", "A query ran outside the manifest's measurement window."
)


def _fail(code: str, message: str, queries: QueryColumns, mask: np.ndarray, field: str) -> None:
    rows = np.flatnonzero(mask)
    if len(rows):
        row = int(rows[0])
        raise BundleError(
            code,
            f"{message} for query {queries.ids[row]!r} at row {row}"
            + (f" ({len(rows) - 1} more rows)" if len(rows) > 1 else ""),
            file=QUERIES,
            row=row,
            field=field,
        )


def check_timing(
    queries: QueryColumns,
    window: tuple[float, float],
    limits: Limits = DEFAULT_LIMITS,
    *,
    synthetic: bool = False,
) -> list[Check]:
    slack = limits.timing_slack_s
    latency, ttft = queries["latency_s"], queries["ttft_s"]
    started, ended = queries["started_at"], queries["ended_at"]
    _fail(LATENCY, "latency_s must be > 0", queries, latency <= 0, "latency_s")
    has_ttft = ~np.isnan(ttft)
    _fail(TTFT_NEGATIVE, "ttft_s is negative", queries, has_ttft & (ttft < 0), "ttft_s")
    _fail(
        TTFT_LATENCY,
        "ttft_s is larger than latency_s",
        queries,
        has_ttft & (ttft > latency + slack),
        "ttft_s",
    )
    both = ~np.isnan(started) & ~np.isnan(ended)
    _fail(
        ORDER, "started_at is after ended_at", queries, both & (started > ended + slack), "ended_at"
    )
    _fail(
        ORDER,
        "the first token (started_at + ttft_s) comes after ended_at",
        queries,
        both & has_ttft & (started + ttft > ended + slack),
        "ttft_s",
    )
    start, end = window
    outside = (~np.isnan(started) & (started < start - limits.window_slack_s)) | (
        ~np.isnan(ended) & (ended > end + limits.window_slack_s)
    )
    _fail(
        OUTSIDE,
        f"the query is not inside the window [{start}, {end}]",
        queries,
        outside,
        "started_at",
    )
    checks = [Check("timing.consistent", "pass", "latencies positive, ttft <= latency, ordered")]
    # A wall-clock duration far from the reported latency is odd but has innocent causes
    # (queueing measured differently): staff look at it, it does not reject.
    duration = ended - started
    off = both & (np.abs(duration - latency) > np.maximum(0.05, 0.05 * latency))
    if off.any():
        row = int(np.flatnonzero(off)[0])
        checks.append(
            Check(
                "timing.latency_mismatch",
                "warn",
                f"{int(off.sum())} queries have ended_at - started_at far from latency_s, first "
                f"{queries.ids[row]!r}: {duration[row]:.3f} s vs {latency[row]:.3f} s",
                file=QUERIES,
                row=row,
                field="latency_s",
            )
        )
    if not synthetic:
        checks.extend(check_run_length(queries, window, both, limits))
    if not both.all():
        checks.append(
            Check(
                "timing.no_timestamps",
                "pass",
                f"{int((~both).sum())} queries have no started_at/ended_at; their placement in "
                "the window cannot be checked",
            )
        )
    return checks


def workload_seconds(
    queries: QueryColumns, window: tuple[float, float], timed: np.ndarray | None = None
) -> tuple[float, str]:
    """The workload window's length and where it comes from.

    From the first start to the last end when every query has both timestamps, else the
    manifest's run window (a harness import's estimate).
    """
    started, ended = queries["started_at"], queries["ended_at"]
    if timed is None:
        timed = ~np.isnan(started) & ~np.isnan(ended)
    if len(started) and timed.all():
        return float(ended.max() - started.min()), "first query start to last query end"
    return float(window[1] - window[0]), "the manifest's run window"


def check_run_length(
    queries: QueryColumns,
    window: tuple[float, float],
    timed: np.ndarray | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Check]:
    """Warn ``timing.short_run`` (provisional) below ``limits.min_run_s``; synthetic runs are
    exempt (the engine does not call this for them)."""
    seconds, source = workload_seconds(queries, window, timed)
    if seconds >= limits.min_run_s:
        return []
    return [
        Check(
            "timing.short_run",
            "warn",
            f"the workload ran for {seconds:.1f} s ({source}); runs shorter than "
            f"{limits.min_run_s:g} s are provisional: meter steps, warm-up and model load weigh "
            "too much in them. Run a larger workload or repeat it",
            file=QUERIES,
            field="started_at",
        )
    ]
