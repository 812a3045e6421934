"""Chart bins of one evaluation: what the board draws of its per-query columns, in bounded size.

The pair page used to embed every query's energy and latency for plotly to histogram in the
browser (38 MB of HTML for a million queries) and the compare page sent them all for box plots.
The worker computes the bins once, at scoring time, as it keeps the trace preview
(``evaluator.trace_preview``); the board stores them with the ``Evaluation`` and draws bar and
scatter traces from them. The size is fixed by ``BINS`` and the statuses, whatever the number of
queries (a few KB).

Per metric (energy per query, latency):

- ``BINS`` fixed-count bins, counted per status (correct, incorrect, unscored: the pair page
  stacks them, so where the wrong answers cost their energy shows);
- **log-spaced** when every value is positive and the largest is at least ``LOG_RATIO`` times the
  smallest. Per-query energy and latency follow the answer's length, which is heavy-tailed: a run
  of one-word answers and a few long derivations spans two or three decades. On 40 linear bins
  such a run puts nearly every query into the first bin or two and the chart says only "there is
  a tail"; equal bins in log space keep the bulk's shape and the tail readable on a log axis.
  Data within two decades (most short-answer runs) stay linear, which reads more naturally;
- the box-plot summary (minimum, 5th, 25th, 50th, 75th, 95th percentiles, maximum and mean) the
  compare page draws its distributions from.

Vectorised numpy: a million queries bin in tens of milliseconds.
"""

from __future__ import annotations

import array
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from evaluator.results import STATUS_CODE, STATUSES, ItemResults
from evaluator.types import ItemResult

VERSION = 1  # bumped when the layout changes; the board draws only the version it knows
BINS = 40
LOG_RATIO = 100.0  # two decades
QUANTILES = {"min": 0.0, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}
METRICS = ("energy_j", "latency_s")

Bins = dict[str, Any]


def histogram(values: np.ndarray, status: np.ndarray, bins: int = BINS) -> dict[str, Any] | None:
    """Counts per status in ``bins`` bins, plus the summary; None when no value is known.

    ``values`` are float64 with NaN where unknown (energy without a trace, say); ``status`` are
    codes into ``evaluator.results.STATUSES``. Every known value lands in exactly one bin.
    """
    values = np.asarray(values, dtype=np.float64)
    status = np.asarray(status, dtype=np.int64)
    known = np.isfinite(values)
    v = values[known]
    if v.size == 0:
        return None
    s = status[known]
    lo, hi = float(v.min()), float(v.max())
    log = lo > 0 and hi >= lo * LOG_RATIO
    if not log and hi == lo:  # one value: a narrow range around it, so it has a visible bar
        pad = abs(lo) * 0.05 or 0.5
        lo, hi = lo - pad, hi + pad
    # The bin by arithmetic, not ``searchsorted`` (4x slower on a million unsorted values); a
    # value within rounding of an edge may land in the neighbouring bin, which no chart shows.
    if log:
        edges = np.geomspace(lo, hi, bins + 1)
        position = (np.log(v) - math.log(lo)) * (bins / math.log(hi / lo))
    else:
        edges = np.linspace(lo, hi, bins + 1)
        position = (v - lo) * (bins / (hi - lo))
    edges[0], edges[-1] = lo, hi  # exact ends: no value outside them
    index = np.clip(position.astype(np.int64), 0, bins - 1)
    counts = np.bincount(index * len(STATUSES) + s, minlength=bins * len(STATUSES))
    per_status = counts.reshape(bins, len(STATUSES)).T
    quantiles = _quantiles(v, list(QUANTILES.values()))
    return {
        "scale": "log" if log else "linear",
        "edges": edges.tolist(),
        # Statuses with no query are left out (most runs have no unscored one).
        "counts": {
            name: per_status[code].tolist()
            for code, name in enumerate(STATUSES)
            if per_status[code].any()
        },
        "n": int(v.size),
        "missing": int(values.size - v.size),
        "summary": {
            **{name: float(q) for name, q in zip(QUANTILES, quantiles, strict=True)},
            "mean": float(v.mean()),
        },
    }


def _quantiles(v: np.ndarray, qs: list[float]) -> list[float]:
    """``np.quantile(v, qs)`` (its default, linear interpolation) from one partition around the
    few ranks needed: 3x faster than ``np.quantile`` on a million values."""
    n = v.size
    ranks = [q * (n - 1) for q in qs]
    below = [math.floor(r) for r in ranks]
    kth = sorted({k for b in below for k in (b, min(b + 1, n - 1))})
    part = np.partition(v, kth)
    return [
        float(part[b] + (r - b) * (part[min(b + 1, n - 1)] - part[b]))
        for r, b in zip(ranks, below, strict=True)
    ]


def chart_bins(energy_j: np.ndarray, latency_s: np.ndarray, status: np.ndarray) -> Bins:
    """The bins of every charted metric, from an evaluation's columns (equal lengths)."""
    if not len(energy_j) == len(latency_s) == len(status):
        raise ValueError("the columns of one evaluation must have equal lengths")
    out: Bins = {"version": VERSION, "n": len(status)}
    for name, column in zip(METRICS, (energy_j, latency_s), strict=True):
        found = histogram(column, status)
        if found is not None:
            out[name] = found
    return out


def bins_of(items: Sequence[ItemResult]) -> Bins:
    """The bins of an engine result's items (``EvaluationResult.items``)."""
    if isinstance(items, ItemResults):  # the engine's columns: no per-item objects
        return chart_bins(items.energy_j, items.latency_s, items.status)
    return bins_from_rows((i.energy_j, i.latency_s, i.status) for i in items)


def bins_from_rows(rows: Iterable[tuple[float | None, float | None, str]]) -> Bins:
    """The bins from ``(energy_j, latency_s, status)`` rows: stored per-query results (the
    migration that fills bins for evaluations scored before bins existed) or ItemResult objects.

    Packed into typed arrays as they stream in (8 + 8 + 1 bytes a row), never a list of tuples."""
    energy, latency, status = array.array("d"), array.array("d"), bytearray()
    for e, lat, st in rows:
        energy.append(math.nan if e is None else e)
        latency.append(math.nan if lat is None else lat)
        status.append(STATUS_CODE[st])
    return chart_bins(
        np.frombuffer(energy, dtype=np.float64) if energy else np.empty(0),
        np.frombuffer(latency, dtype=np.float64) if latency else np.empty(0),
        np.frombuffer(bytes(status), dtype=np.uint8),
    )


def usable(stored: dict[str, Any] | None) -> Bins:
    """Stored bins if they have this module's layout, else none (the board then leaves the
    distribution charts out rather than misread an older layout)."""
    return stored if stored and stored.get("version") == VERSION else {}


def centres(h: dict[str, Any]) -> list[float]:
    """The middle of each bin: geometric on a log scale (its middle on the log axis)."""
    edges = np.asarray(h["edges"], dtype=np.float64)
    if h["scale"] == "log":
        return np.sqrt(edges[:-1] * edges[1:]).tolist()
    return ((edges[:-1] + edges[1:]) / 2).tolist()
