"""One ``ipw profile`` row -> the values of one queries.parquet row, for both generations.

Field paths are those of the harness's ``ProfilingRecord`` (``execution/types.py``); which of them
this reads, and from where we know them, is in docs/harness-formats.md. Energy is read on one
basis for the whole run (``choose_basis``): never GPU joules for one query and SoC joules for the
next.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from evaluator.errors import BundleError, register

BASIS_MIXED = register(
    "harness.basis.unavailable",
    "The run does not record the requested energy basis on every query.",
)


def get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def number(value: Any) -> float | None:
    """A finite float, or None (the harness writes None, and -1 for 'not available')."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def measured(value: Any) -> float | None:
    """A reading that is a measurement: finite and not the monitor's -1 sentinel."""
    result = number(value)
    return None if result is None or result < 0 else result


def _soc_energy(energy: Mapping[str, Any]) -> float | None:
    soc = measured(energy.get("soc_per_query_joules"))
    if soc is not None:
        return soc
    rails = [measured(energy.get(k)) for k in ("per_query_joules", "cpu_per_query_joules")]
    if any(r is None for r in rails):
        return None
    ane = measured(energy.get("ane_per_query_joules")) or 0.0
    return float(sum(r for r in rails if r is not None)) + ane


def energy_on(basis: str, metrics: Mapping[str, Any]) -> float | None:
    """The query's energy summed over ``basis``'s rails, or None when a rail is missing."""
    energy = metrics.get("energy_metrics") or {}
    if basis == "soc":
        return _soc_energy(energy)
    gpu = number(energy.get("per_query_joules"))
    if basis == "cpu_accelerator":
        cpu = measured(energy.get("cpu_per_query_joules"))
        return None if gpu is None or cpu is None else gpu + cpu
    return gpu


def choose_basis(
    rows: Sequence[Mapping[str, Any]],
    model: str,
    apple: bool,
    requested: str | None,
) -> tuple[str, list[str]]:
    """The run's energy basis (our vocabulary) and notes on how it was chosen.

    The harness records ``energy_metrics.basis`` ("soc" or "gpu") per record; before that field,
    ``ipw analyze`` took SoC for Apple and GPU elsewhere. We follow the records, fall back the same
    way, and need the basis on every row (a run is never read on two bases).
    """
    metrics = [get(row, "model_metrics", model) or {} for row in rows]
    if requested:
        missing = [i for i, m in enumerate(metrics) if energy_on(requested, m) is None]
        if requested != "accelerator" and missing:
            raise BundleError(
                BASIS_MIXED,
                f"measurement.basis {requested!r} was asked for but {len(missing)} of "
                f"{len(rows)} rows lack a rail it sums (first: row {missing[0]})",
                row=missing[0],
                field="energy_metrics",
            )
        return requested, [f"energy basis {requested!r} as requested"]
    recorded = {
        str(get(m, "energy_metrics", "basis") or get(m, "power_metrics", "basis") or "")
        for m in metrics
    } - {""}
    soc_everywhere = all(_soc_energy(m.get("energy_metrics") or {}) is not None for m in metrics)
    if soc_everywhere and (recorded == {"soc"} or (not recorded and apple)):
        how = "recorded per row" if recorded else "Apple silicon, as ipw analyze does"
        return "soc", [f"energy basis 'soc' (CPU + GPU + ANE; {how})"]
    notes = []
    if len(recorded) > 1:
        notes.append(f"rows disagree on energy_metrics.basis ({', '.join(sorted(recorded))})")
    if apple:
        notes.append(
            "per_query_joules on a Mac is the GPU rail alone: imported on the 'accelerator' basis "
            "(not comparable with whole-SoC results)"
        )
    return "accelerator", [*notes, "energy basis 'accelerator' (per_query_joules)"]


def _stats(metrics: Mapping[str, Any], basis: str) -> Mapping[str, Any]:
    rail = "soc" if basis == "soc" else "gpu"
    if basis == "cpu_accelerator":
        return {}  # no per-sample power of the summed rails is recorded
    return get(metrics, "power_metrics", rail, "per_query_watts") or {}


def _ms(value: Any) -> float | None:
    result = measured(value)
    return None if result is None else result / 1000.0


def optional_values(metrics: Mapping[str, Any], energy_j: float | None) -> dict[str, Any]:
    """The optional per-query columns this row can fill (None where not measured)."""
    energy = metrics.get("energy_metrics") or {}
    phase = metrics.get("phase_metrics") or {}
    gpu = get(metrics, "hardware_utilization", "gpu") or {}
    derived = get(metrics, "hardware_utilization", "derived") or {}
    tokens = metrics.get("token_metrics") or {}
    values: dict[str, Any] = {
        "prefill_energy_j": measured(phase.get("prefill_energy_j")),
        "decode_energy_j": measured(phase.get("decode_energy_j")),
        "prefill_s": _ms(phase.get("prefill_duration_ms")),
        "decode_s": _ms(phase.get("decode_duration_ms")),
        "cpu_energy_j": measured(energy.get("cpu_per_query_joules")),
        "ane_energy_j": measured(energy.get("ane_per_query_joules")),
        "gpu_utilization_pct": measured(gpu.get("compute_utilization_pct")),
        "mfu": measured(derived.get("mfu")),
        "mbu": measured(derived.get("mbu")),
    }
    # Not in the harness's code or docs as read (docs/harness-formats.md): read if a version
    # writes a separate count; a thinking model's output count includes it either way.
    reasoning = measured(tokens.get("reasoning") or tokens.get("reasoning_tokens"))
    values["reasoning_tokens"] = None if reasoning is None else int(reasoning)
    if values["gpu_utilization_pct"] is not None and values["gpu_utilization_pct"] > 100:
        values["gpu_utilization_pct"] = None
    return values


def row_values(
    metrics: Mapping[str, Any], basis: str, latency: float
) -> tuple[float | None, dict[str, Any]]:
    """(energy on ``basis`` or None, the power statistics of the same rails)."""
    watts = _stats(metrics, basis)
    return energy_on(basis, metrics), {
        "power_avg_w": measured(watts.get("avg")),
        "power_max_w": measured(watts.get("max")),
        "power_min_w": measured(watts.get("min")),
        "power_median_w": measured(watts.get("median")),
    }
