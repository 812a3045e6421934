"""Bad cases: forged but self-consistent runs that physics rules out (issue 11).

Each starts from the valid corpus bundle made a *measured* run of a catalog model on a catalog
H100 (NVML counter, not synthetic), then claims power or speed no H100 can have. The trace, when
kept, is scaled with the queries so that every telemetry check would agree: only physics
catches them, with or without a trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from badbundles.rewrite import case, mutate, set_column

H100 = {
    "label": "H10080GB",  # the reference harness's label for it
    "accelerator": "NVIDIA H100 80GB HBM3",
    "vendor": "NVIDIA",
    "count": 1,
    "class": "cloud",
}


def measured(manifest: dict[str, Any]) -> None:
    manifest["synthetic"] = False
    manifest["measurement"] = {
        "scope": "accelerator",
        "method": "nvml_counter",
        "sampling_period_s": 0.05,
    }
    manifest["hardware"] = dict(H100)
    manifest["model"]["id"] = "llama3.2:1b"
    manifest["model"]["quantization"] = "bf16"


def scale_queries(factor: float) -> Any:
    def change(table: pa.Table) -> pa.Table:
        for name in ("energy_j", "power_avg_w", "power_max_w", "power_min_w", "power_median_w"):
            values = [v * factor for v in table.column(name).to_pylist()]
            table = set_column(table, name, values)
        return table

    return change


def scale_trace(factor: float) -> Any:
    def change(table: pa.Table) -> pa.Table:
        power = [p * factor for p in table.column("power_w").to_pylist()]
        energy = [e * factor for e in table.column("energy_j").to_pylist()]
        return set_column(set_column(table, "power_w", power), "energy_j", energy)

    return change


# The corpus run draws ~120 W: these factors make its mean 0.001 W and 45.9 kW per query.
MILLIWATT = 0.001 / 120
KILOWATTS_45 = 45_900 / 120


@case("physics.power_below_idle")
def h100_at_a_milliwatt_with_trace(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid,
        tmp,
        manifest=measured,
        queries=scale_queries(MILLIWATT),
        trace=scale_trace(MILLIWATT),
    )


@case("physics.power_below_idle")
def h100_at_a_milliwatt_without_trace(valid: Path, tmp: Path) -> Path:
    bundle = mutate(valid, tmp, manifest=measured, queries=scale_queries(MILLIWATT))
    return _drop_trace(bundle, tmp)


@case("physics.power_above_tdp")
def h100_at_45_kilowatts_with_trace(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid,
        tmp,
        manifest=measured,
        queries=scale_queries(KILOWATTS_45),
        trace=scale_trace(KILOWATTS_45),
    )


@case("physics.power_above_tdp")
def h100_at_45_kilowatts_without_trace(valid: Path, tmp: Path) -> Path:
    bundle = mutate(valid, tmp, manifest=measured, queries=scale_queries(KILOWATTS_45))
    return _drop_trace(bundle, tmp)


def cpu_plus_accelerator(manifest: dict[str, Any]) -> None:
    """A measured H100 run whose energy_j adds the host CPU package (NVML + RAPL)."""
    measured(manifest)
    manifest["measurement"]["basis"] = "cpu_accelerator"


# The host CPU allowance (evaluator.checks.physics: 800 W for a data-centre host) raises the
# H100's ceiling from 875 W to 1675 W; 2.5 kW is beyond any H100 with its server's CPUs.
KILOWATTS_2_5 = 2_500 / 120


@case("physics.power_above_tdp")
def h100_plus_host_cpu_at_2_5_kilowatts(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid,
        tmp,
        manifest=cpu_plus_accelerator,
        queries=scale_queries(KILOWATTS_2_5),
        trace=scale_trace(KILOWATTS_2_5),
    )


@case("physics.throughput_above_roofline")
def llama_1b_decoding_faster_than_h100_memory(valid: Path, tmp: Path) -> Path:
    """bf16 Llama 3.2 1B on one H100: ~1,350 tokens/s at most; this claims ~40,000."""

    def fast(table: pa.Table) -> pa.Table:
        latency = table.column("latency_s").to_pylist()
        ttft = table.column("ttft_s").to_pylist()
        tokens = [int((lat - first) * 40_000) + 1 for lat, first in zip(latency, ttft, strict=True)]
        return set_column(table, "output_tokens", tokens)

    return mutate(valid, tmp, manifest=measured, queries=fast)


def _drop_trace(bundle: Path, tmp: Path) -> Path:
    from badbundles.rewrite import read_members, signature_for, write_zip
    from badbundles.valid import MEMBER_ORDER

    members = read_members(bundle)
    del members["trace.parquet"]
    members["signature.dsse.json"] = signature_for(members)
    entries = [(n, members[n]) for n in MEMBER_ORDER if n in members]
    return write_zip(tmp / "no-trace.ipwb", entries)
