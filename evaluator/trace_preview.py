"""A display-sized power trace, built in the same streaming pass as the telemetry checks.

The board shows each run's power trace; reading a multi-gigabyte trace in a web request is the
wrong place, so the worker keeps this preview instead. Each of ``MAX_POINTS // 2`` buckets of
consecutive samples keeps its minimum and its maximum (not a mean), so short power peaks survive.
Timestamps are increasing (the telemetry checks reject a trace whose are not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_POINTS = 2000


@dataclass(frozen=True)
class TracePreview:
    t_s: list[float]  # seconds since the first sample
    power_w: list[float]
    samples: int  # in the bundle, before downsampling

    def to_dict(self) -> dict[str, object]:
        return {"t_s": self.t_s, "power_w": self.power_w, "samples": self.samples}


class TracePreviewer:
    """Accumulates per-bucket extremes over streamed trace batches; ``preview()`` gives the result."""

    def __init__(self, total_rows: int, max_points: int = MAX_POINTS) -> None:
        self.total = max(int(total_rows), 1)
        self.buckets = max(1, min(max_points // 2, self.total))
        self.min_w = np.full(self.buckets, np.inf)
        self.max_w = np.full(self.buckets, -np.inf)
        self.min_ns = np.zeros(self.buckets, dtype=np.int64)
        self.max_ns = np.zeros(self.buckets, dtype=np.int64)
        self.first_ns: int | None = None
        self.seen = 0

    def update(self, timestamp_ns: np.ndarray, power_w: np.ndarray) -> None:
        n = len(power_w)
        if n == 0:
            return
        if self.first_ns is None:
            self.first_ns = int(timestamp_ns[0])
        rows = np.arange(self.seen, self.seen + n, dtype=np.int64)
        bucket = np.minimum(rows * self.buckets // self.total, self.buckets - 1)
        self.seen += n
        # Buckets are contiguous runs of rows: one argmin/argmax per run present in this batch.
        starts = np.flatnonzero(np.diff(bucket)) + 1
        for lo, hi in zip(np.r_[0, starts], np.r_[starts, n], strict=True):
            chunk = power_w[lo:hi]
            if not np.isfinite(chunk).any():
                continue
            b = int(bucket[lo])
            i_min, i_max = lo + int(np.nanargmin(chunk)), lo + int(np.nanargmax(chunk))
            if power_w[i_min] < self.min_w[b]:
                self.min_w[b], self.min_ns[b] = power_w[i_min], timestamp_ns[i_min]
            if power_w[i_max] > self.max_w[b]:
                self.max_w[b], self.max_ns[b] = power_w[i_max], timestamp_ns[i_max]

    def preview(self) -> TracePreview | None:
        if self.first_ns is None:
            return None
        points: list[tuple[int, float]] = []
        for b in np.flatnonzero(np.isfinite(self.min_w)):
            pair = {
                (int(self.min_ns[b]), float(self.min_w[b])),
                (int(self.max_ns[b]), float(self.max_w[b])),
            }
            points.extend(sorted(pair))
        t0 = self.first_ns
        return TracePreview(
            [round((ns - t0) / 1e9, 4) for ns, _ in points],
            [round(w, 3) for _, w in points],
            self.seen,
        )
