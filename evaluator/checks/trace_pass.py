"""The one streaming pass over the trace: the telemetry checks, the trace's fingerprint and its
display preview, with the power limit the catalog entry implies."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from evaluator.bundle.tables import TraceBatch
from evaluator.catalog import Accelerator
from evaluator.checks.physics import power_bounds
from evaluator.checks.telemetry import analyse_trace
from evaluator.fingerprint import TraceFingerprinter
from evaluator.harness_report import SOURCE as IMPORT_SOURCE
from evaluator.limits import Limits
from evaluator.manifest_model import Manifest
from evaluator.trace_preview import TracePreview, TracePreviewer
from evaluator.types import Check


def trace_pass(
    trace: Iterable[tuple[int, TraceBatch]],
    manifest: Manifest,
    entry: Accelerator | None,
    queries: Any,
    window: tuple[float, float],
    limits: Limits,
) -> tuple[list[Check], str | None, TracePreview | None]:
    """The telemetry checks, the trace's fingerprint and its display preview, in one pass."""
    started, ended = queries["started_at"], queries["ended_at"]
    timed = bool((~np.isnan(started) & ~np.isnan(ended)).all())
    stream = iter(trace)
    first = next(stream, None)
    rows = first[0] if first is not None else 0
    fingerprinter = TraceFingerprinter(rows)
    previewer = TracePreviewer(rows)

    def batches() -> Iterator[TraceBatch]:
        if first is None:
            return
        for _, batch in itertools.chain([first], stream):
            fingerprinter.update(batch.timestamp_ns, batch.power_w)
            previewer.update(batch.timestamp_ns, batch.power_w)
            yield batch

    checks = analyse_trace(
        batches(),
        period_s=manifest.measurement.sampling_period_s,
        window=window,
        power_limit=_trace_power_limit(manifest, entry, limits),
        claimed_energy_j=float(np.sum(queries["energy_j"])),
        query_intervals=(started, ended) if timed else None,
        total_rows=rows,
        limits=limits,
        # A harness import's window is an estimate: the energy-sum check only warns (and says so).
        estimated_window=bool(
            manifest.import_info.get("source") == IMPORT_SOURCE
            and manifest.import_info.get("window_estimated")
        ),
    )
    return checks, fingerprinter.digest(), previewer.preview()


def _trace_power_limit(manifest: Manifest, entry: Accelerator | None, limits: Limits) -> float:
    """The highest single power sample believable: the catalog's rated power with the trace's
    (looser, instantaneous) factor, or the generic per-device limits for unknown hardware."""
    count, scope = manifest.hardware.count, manifest.measurement.scope
    if entry is not None:
        bounds = power_bounds(scope, entry, count, energy_basis=manifest.measurement.basis)
        return bounds.ceiling_w * limits.tdp_factor
    if scope == "wall":
        return count * limits.max_wall_power_w_per_device
    return count * limits.max_power_w_per_device
