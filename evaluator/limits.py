"""Resource limits for reading untrusted bundles.

Every number here bounds work an uploader can make the server do. The defaults are generous for real
runs (the largest public workloads are a few thousand queries) and small enough that a hostile bundle
cannot exhaust a worker's disk or memory. All are overridable, e.g. ``replace(DEFAULT_LIMITS, ...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


@dataclass(frozen=True)
class Limits:
    # Archive.
    max_bundle_bytes: int = 4 * GIB  # the .ipwb file as uploaded
    max_uncompressed_bytes: int = 16 * GIB  # sum of all members once unpacked
    max_compression_ratio: float = 200.0  # uncompressed / compressed, per member (zip bomb guard)
    # Members smaller than this are exempt from the ratio cap: a tiny, repetitive manifest can
    # legitimately deflate 300:1 and cannot hurt anyone.
    ratio_exempt_bytes: int = 1 * MIB
    max_members: int = 16  # central directory entries, checked before parsing it
    max_central_directory_bytes: int = 64 * KIB
    # JSON members.
    max_manifest_bytes: int = 1 * MIB
    max_signature_bytes: int = 256 * KIB
    max_json_depth: int = 32
    # Tables.
    max_queries: int = 5_000_000
    max_trace_samples: int = 50_000_000
    batch_rows: int = 65_536  # rows per Parquet batch while streaming
    max_response_chars: int = 1_000_000  # one response; beyond this it is not a model answer
    # Telemetry plausibility.
    max_power_w_per_device: float = 3000.0  # no accelerator or SoC draws more, per unit
    max_wall_power_w_per_device: float = 20000.0  # wall meters include hosts, fans, PSUs
    tdp_factor: float = 1.5  # accelerator readings may exceed the nominal TDP by this much
    period_tolerance: float = 0.20  # median sampling interval within +-20% of the declared one
    max_gap_periods: float = 10.0  # largest gap between samples, in declared periods
    min_coverage: float = 0.95  # fraction of the run window the trace must cover
    max_bad_power_fraction: float = 0.01  # NaN, <= 0 or above the limit
    energy_integral_tolerance: float = 0.05  # counter energy vs integral of power
    energy_sum_tolerance: float = 0.10  # sum of per-query energies vs metered energy
    flat_relative_range: float = 1e-3  # (max - min) / mean below this: a flat, suspicious trace
    # Timing.
    timing_slack_s: float = 1e-3  # clock rounding allowed between timestamps and durations
    window_slack_s: float = 1.0  # queries may start/end this far outside the declared window
    claim_gap: float = 0.02  # claimed accuracy more than this above ours is flagged
    # A measured (non-synthetic) run whose workload window is shorter than this is provisional
    # (warning timing.short_run): meters step in sampling periods, and warm-up and model load
    # weigh too much in a short run for its IPW to rank.
    # 30 s: the reference harness's own 120-query sample workload runs ~37 s on an H100, and at the
    # meters' periods (NVML 50 ms, powermetrics 1 s) 30 s is >= 30 samples per meter step; what a
    # shorter run measures is mostly warm-up.
    min_run_s: float = 30.0


DEFAULT_LIMITS = Limits()
