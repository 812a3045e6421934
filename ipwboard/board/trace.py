"""The power trace of a run, read from the stored bundle and downsampled for display.

A bundle is immutable once stored, so its downsampled trace is cached under the submission id
for good. Downsampling keeps each bucket's minimum and maximum (not a mean), so short power peaks
survive at any zoom level, within the display budget of ``MAX_POINTS``.
"""

from __future__ import annotations

import itertools
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from django.core.cache import cache

from submissions.models import Submission
from submissions.storage import local_copy

log = logging.getLogger(__name__)

TRACE_MEMBER = "trace.parquet"  # evaluator.bundle.TRACE: the member name in bundle format v1
MAX_POINTS = 2000
MAX_TRACE_BYTES = 1 << 30  # already enforced by the engine's limits; a second fence here


@dataclass(frozen=True)
class Trace:
    t_s: list[float]  # seconds since the first sample
    power_w: list[float]
    samples: int  # in the bundle, before downsampling


def downsample(t: np.ndarray, p: np.ndarray, max_points: int = MAX_POINTS) -> tuple[Any, Any]:
    """At most ``max_points`` points: per bucket, the min and the max in time order."""
    n = len(t)
    if n <= max_points:
        return t, p
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1, dtype=np.int64)
    out_t: list[float] = []
    out_p: list[float] = []
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        chunk = p[lo:hi]
        i_min, i_max = int(np.argmin(chunk)), int(np.argmax(chunk))
        for i in sorted({i_min, i_max}):
            out_t.append(float(t[lo + i]))
            out_p.append(float(chunk[i]))
    return np.asarray(out_t), np.asarray(out_p)


def read_trace(path: Path) -> Trace | None:
    """The downsampled trace of a bundle file, or None if it has none."""
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(TRACE_MEMBER)
        except KeyError:
            return None
        if info.file_size > MAX_TRACE_BYTES:
            raise ValueError(f"trace too large to display: {info.file_size} bytes")
        with TemporaryDirectory(prefix="ipwboard-trace-") as tmp:
            target = Path(tmp) / TRACE_MEMBER
            with archive.open(info) as src, target.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            table = pq.read_table(target, columns=["timestamp_ns", "power_w"])
    if table.num_rows == 0:
        return None
    stamps = table.column("timestamp_ns").to_numpy(zero_copy_only=False).astype(np.int64)
    power = table.column("power_w").to_numpy(zero_copy_only=False).astype(np.float64)
    order = np.argsort(stamps, kind="stable")
    stamps, power = stamps[order], power[order]
    t = (stamps - stamps[0]) / 1e9
    t, power = downsample(t, power)
    return Trace([round(x, 4) for x in t], [round(x, 3) for x in power], table.num_rows)


def trace_for(submission: Submission) -> Trace | None:
    """Cached for good under the submission id: a stored bundle never changes."""
    key = f"board:trace:v1:{submission.pk}"
    found = cache.get(key)
    if found is not None:
        return found if isinstance(found, Trace) else None
    try:
        with local_copy(submission.bundle.name) as path:
            trace = read_trace(path)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        # A display problem must not break the page; the bundle was verified when scored.
        log.warning("cannot read the trace of %s: %s", submission.pk, error)
        return None
    cache.set(key, trace or "none", None)
    return trace
