"""Physics: what the metered hardware can draw, and how fast the model can decode on it.

The catalog entry (``evaluator.catalog.Accelerator``) and the model entry come in as plain data,
so the engine stays Django-free; the server and the CLI pass the same kind of values. The checks
read the per-query energies and timings, so **the same bounds apply with or without a trace**.

For a run on ``count`` devices, in the declared measurement scope:

- mean power over queries (the IPW denominator) must lie between the *floor* and the *ceiling*;
  more than ``max_outlier_share`` of single queries outside them also rejects (a few may, because
  the reference harness's chained attribution charges idle gaps to the next query and counters
  step in sampling periods; 0 J rows are the zero-energy rule's business, not this one's);
- decode throughput (output tokens after the first over decode time, summed over queries) must not
  exceed the memory-bandwidth roofline: every generated token reads the active weights once, so
  tokens/s <= bandwidth / (active parameters x bytes per parameter at the quantization);
- energy per output token must not be below floor power / roofline throughput.

A result inside the bounds but within ``near_share`` of one is warned (``physics.near_bound``)
and held for review. The methodology page prints these rules from this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from evaluator.catalog import Accelerator, ModelEntry
from evaluator.errors import BundleError, register
from evaluator.manifest_model import Manifest
from evaluator.measurement_classes import BASIS_BY_KEY, SCOPE_BY_KEY
from evaluator.types import Check

QUERIES = "queries.parquet"
BELOW_IDLE = register(
    "physics.power_below_idle",
    "Mean power per query is below what the hardware draws when idle: not a real measurement.",
)
ABOVE_TDP = register(
    "physics.power_above_tdp",
    "Mean power per query is above the hardware's rated power (TDP or package power) "
    "plus the margin.",
)
ROOFLINE = register(
    "physics.throughput_above_roofline",
    "Decode throughput exceeds the memory-bandwidth roofline of the hardware for this model.",
)
ENERGY_FLOOR = register(
    "physics.energy_per_token_below_floor",
    "Energy per output token is below the floor implied by idle power and the roofline.",
)
NEAR_BOUND = "physics.near_bound"  # warning: inside the bounds but close to one; held for review


@dataclass(frozen=True)
class PhysicsRules:
    """The margins. Generous on purpose: a bound rejects only what cannot be a real run."""

    tdp_margin: float = 0.25  # mean power may exceed rated power by 25% (boost, sensor error)
    idle_margin: float = 0.5  # mean power may be as low as half the idle floor
    max_outlier_share: float = 0.05  # single queries outside the bounds, at most 5%
    near_share: float = 0.10  # within 10% of a bound: warned and held for review
    roofline_margin: float = 1.25  # decode speed up to 1.25x the bandwidth roofline
    speculative_factor: float = 4.0  # declared speculative decoding: up to 4 tokens per read
    # Idle floor when the catalog publishes no idle range: a fraction of rated power, or an
    # absolute minimum by class (a laptop SoC idles near a watt; a data-centre GPU at tens).
    idle_fraction_of_tdp: float = 0.04
    idle_floor_by_class_w: tuple[tuple[str, float], ...] = (
        ("datacenter", 15.0),
        ("workstation", 5.0),
        ("desktop", 3.0),
        ("laptop", 0.3),
        ("edge", 0.3),
        ("phone", 0.05),
    )
    # Rated power when the catalog has none (Apple SoCs, CPU classes): a class ceiling.
    ceiling_by_class_w: tuple[tuple[str, float], ...] = (
        ("datacenter", 1500.0),
        ("workstation", 800.0),
        ("desktop", 600.0),
        ("laptop", 200.0),
        ("edge", 80.0),
        ("phone", 25.0),
    )
    # At the wall a machine draws its devices plus a host (CPU, memory, fans, PSU losses).
    wall_host_allowance_w: float = 1500.0
    wall_factor: float = 1.5
    # An energy basis that adds the host CPU package to the accelerator's rail (``cpu_accelerator``:
    # NVML + RAPL) can exceed the accelerator's rating by the host CPUs' power. Which CPU and how
    # many sockets is not known (the manifest's cpu_brand is free text, and RAPL sums every
    # package), so the allowance is per class of the accelerator, from the catalog's CPU ratings:
    # a server takes two sockets of its highest-rated CPU (AMD EPYC 9654, 400 W); a workstation
    # two 350 W sockets (Xeon W / Threadripper PRO class); a desktop one Core i9-13900K at its
    # Maximum Turbo Power (253 W, rounded up); a laptop an HX-class CPU's 157 W turbo; an edge
    # module or phone shares one power budget with its CPU, so little is added. Once per run,
    # not per device: the host's CPUs feed all its accelerators.
    host_cpu_allowance_by_class_w: tuple[tuple[str, float], ...] = (
        ("datacenter", 800.0),
        ("workstation", 700.0),
        ("desktop", 300.0),
        ("laptop", 160.0),
        ("edge", 30.0),
        ("phone", 10.0),
    )


RULES = PhysicsRules()


def describe_rules(rules: PhysicsRules = RULES) -> list[tuple[str, str]]:
    """(rule, how it is applied) rows for the methodology page, from the numbers in force."""
    idle = ", ".join(f"{c} {w:g} W" for c, w in rules.idle_floor_by_class_w)
    ceiling = ", ".join(f"{c} {w:g} W" for c, w in rules.ceiling_by_class_w)
    host = ", ".join(f"{c} {w:g} W" for c, w in rules.host_cpu_allowance_by_class_w)
    return [
        (
            BELOW_IDLE,
            f"Mean power per query below {rules.idle_margin:g} x the idle floor x device count "
            f"rejects, as does more than {rules.max_outlier_share:.0%} of single queries below "
            f"it (0 J rows excepted: see the zero-energy rule). The idle floor is the catalog's "
            f"published idle range; without one, {rules.idle_fraction_of_tdp:.0%} of rated power, "
            f"at least the class floor ({idle}).",
        ),
        (
            ABOVE_TDP,
            f"Mean power per query above {1 + rules.tdp_margin:g} x rated power (TDP or package "
            f"power) x device count rejects, as does more than {rules.max_outlier_share:.0%} of "
            f"single queries above it. At the wall: {rules.wall_factor:g} x rated power x count "
            f"+ {rules.wall_host_allowance_w:g} W for the host. Without a published rating, the "
            f"class ceiling ({ceiling}). With the energy basis CPU package + accelerator, the "
            f"accelerator ceiling adds the host CPUs' power once, by class ({host}).",
        ),
        (
            ROOFLINE,
            f"Decode throughput (output tokens after the first / decode time, over all queries) "
            f"above {rules.roofline_margin:g} x memory bandwidth x count / (active parameters x "
            f"bytes per parameter at the quantization) rejects; {rules.speculative_factor:g} x "
            "that with declared speculative decoding (labelled on the board). An unknown "
            f"quantization counts as {_UNKNOWN_BITS:g} bits per weight, the most lenient bound.",
        ),
        (
            ENERGY_FLOOR,
            "Energy per output token below the idle floor divided by the allowed roofline "
            "throughput rejects.",
        ),
        (
            NEAR_BOUND,
            f"A result within {rules.near_share:.0%} of any bound is possible but rare: it is "
            "warned and held for staff review. The same bounds apply with or without a trace.",
        ),
    ]


# Bits per weight by quantization name, lowest plausible first (lenient: an unknown or odd name
# gets the fewest bits, i.e. the highest roofline, so an honest run is never refused for a label).
_BITS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\b(?:fp32|f32|float32)\b"), 32.0),
    (re.compile(r"\b(?:bf16|fp16|f16|float16|bfloat16|half)\b"), 16.0),
    (re.compile(r"(?:fp8|int8|\bq8|8bit|8-bit|w8a8|e4m3|e5m2)"), 8.0),
    (re.compile(r"(?:\bq6|6bit)"), 6.0),
    (re.compile(r"(?:\bq5|5bit)"), 5.0),
    (re.compile(r"(?:\bq4|int4|4bit|4-bit|awq|gptq|nf4|mxfp4|fp4|w4a16)"), 4.0),
    (re.compile(r"(?:\bq3|3bit|iq3)"), 3.0),
    (re.compile(r"(?:\bq2|2bit|iq2)"), 2.0),
)
_UNKNOWN_BITS = 1.5  # below any real format: the most lenient roofline


def bits_per_weight(quantization: str | None) -> float:
    text = (quantization or "").casefold()
    for pattern, bits in _BITS:
        if pattern.search(text):
            return bits
    return _UNKNOWN_BITS


def _by_class(table: tuple[tuple[str, float], ...], device_class: str, default: float) -> float:
    return dict(table).get(device_class, default)


def idle_floor_w(entry: Accelerator, rules: PhysicsRules = RULES) -> float:
    """One device's idle floor: the catalog's idle range if published, else a derived floor."""
    if entry.idle_low_w is not None:
        return entry.idle_low_w
    by_class = _by_class(rules.idle_floor_by_class_w, entry.device_class, 0.05)
    if entry.tdp_w is not None:
        return max(min(entry.tdp_w * rules.idle_fraction_of_tdp, by_class * 4), by_class)
    return by_class


def rated_power_w(entry: Accelerator, rules: PhysicsRules = RULES) -> float:
    if entry.tdp_w is not None:
        return entry.tdp_w
    return _by_class(rules.ceiling_by_class_w, entry.device_class, 1500.0)


@dataclass(frozen=True)
class PowerBounds:
    floor_w: float
    ceiling_w: float
    basis: str  # how they were derived, for messages and the methodology page


def host_cpu_allowance_w(
    scope: str, energy_basis: str, entry: Accelerator, rules: PhysicsRules = RULES
) -> float:
    """What the host CPUs may add to an accelerator's ceiling: only when energy_j sums the host
    CPU package too (a basis with ``host_cpu``) and the bound is the devices' own rating (a
    package's rating already covers its CPU, and the wall has its own host allowance)."""
    basis = BASIS_BY_KEY.get(energy_basis)
    device = (SCOPE_BY_KEY[scope].bounds if scope in SCOPE_BY_KEY else "device") == "device"
    if basis is None or not basis.host_cpu or not device:
        return 0.0
    return _by_class(rules.host_cpu_allowance_by_class_w, entry.device_class, 800.0)


def power_bounds(
    scope: str,
    entry: Accelerator,
    count: int,
    rules: PhysicsRules = RULES,
    *,
    energy_basis: str = "",
) -> PowerBounds:
    """Mean-power bounds for ``count`` devices of ``entry`` metered in ``scope``, energy summed
    over ``energy_basis`` (``measurement_classes.BASES``; empty: the scope's own rails)."""
    idle, rated = idle_floor_w(entry, rules), rated_power_w(entry, rules)
    bounds = SCOPE_BY_KEY[scope].bounds if scope in SCOPE_BY_KEY else "device"
    floor = idle * count * rules.idle_margin
    if bounds == "wall":
        ceiling = rated * count * rules.wall_factor + rules.wall_host_allowance_w
        basis = (
            f"wall: >= {rules.idle_margin:g} x idle {idle:g} W x {count}; <= {rules.wall_factor:g}"
            f" x rated {rated:g} W x {count} + {rules.wall_host_allowance_w:g} W host"
        )
    else:
        host = host_cpu_allowance_w(scope, energy_basis, entry, rules)
        ceiling = rated * count * (1 + rules.tdp_margin) + host
        basis = (
            f"{bounds}: >= {rules.idle_margin:g} x idle {idle:g} W x {count}; <= "
            f"{1 + rules.tdp_margin:g} x rated {rated:g} W x {count}"
        )
        if host:
            basis += f" + {host:g} W host CPU ({entry.device_class} host, basis {energy_basis})"
    return PowerBounds(floor, ceiling, basis)


def roofline_tok_s(
    entry: Accelerator,
    model: ModelEntry,
    count: int,
    quantization: str | None,
) -> float | None:
    """Single-stream decode ceiling in tokens/s, or None when a figure is unknown."""
    active = model.params_active_b or model.params_total_b
    if entry.memory_bandwidth_gbs is None or active is None:
        return None
    bytes_per_token = active * 1e9 * bits_per_weight(quantization) / 8
    return entry.memory_bandwidth_gbs * 1e9 * count / bytes_per_token


def check_physics(
    manifest: Manifest,
    hardware: Accelerator | None,
    model: ModelEntry | None,
    implied_quantization: str | None,
    *,
    energy_j: np.ndarray,
    latency_s: np.ndarray,
    ttft_s: np.ndarray,
    output_tokens: np.ndarray,
    rules: PhysicsRules = RULES,
) -> list[Check]:
    """Raise ``BundleError`` with a ``physics.*`` code on an impossible run; return the checks."""
    if manifest.simulated:
        return [Check("physics.not_judged", "pass", "synthetic data: no hardware to check")]
    if hardware is None:
        return [
            Check(
                "physics.not_judged",
                "warn",
                "the hardware is not in the catalog, so its power and bandwidth are unknown: "
                "held until staff map it to a catalog entry",
                file="manifest.json",
                field="hardware",
            )
        ]
    count = manifest.hardware.count
    bounds = power_bounds(
        manifest.measurement.scope, hardware, count, rules, energy_basis=manifest.measurement.basis
    )
    metered = (energy_j > 0) & (latency_s > 0)
    power = np.divide(energy_j, latency_s, out=np.zeros_like(energy_j), where=latency_s > 0)
    checks: list[Check] = []
    warnings: list[str] = []
    if metered.any():
        mean = float(power[metered].mean())
        what = f"{hardware.name} x{count}, scope {manifest.measurement.scope}"
        low_share = float((power[metered] < bounds.floor_w).mean())
        high_share = float((power[metered] > bounds.ceiling_w).mean())
        if mean < bounds.floor_w or low_share > rules.max_outlier_share:
            raise BundleError(
                BELOW_IDLE,
                f"mean power per query {mean:.4g} W ({low_share:.1%} of queries below the floor) "
                f"on {what}; the floor is {bounds.floor_w:.4g} W ({bounds.basis})",
                file=QUERIES,
                field="energy_j",
            )
        if mean > bounds.ceiling_w or high_share > rules.max_outlier_share:
            raise BundleError(
                ABOVE_TDP,
                f"mean power per query {mean:.4g} W ({high_share:.1%} of queries above the "
                f"ceiling) on {what}; the ceiling is {bounds.ceiling_w:.4g} W ({bounds.basis})",
                file=QUERIES,
                field="energy_j",
            )
        if mean < bounds.floor_w * (1 + rules.near_share):
            warnings.append(
                f"mean power {mean:.4g} W is near the idle floor {bounds.floor_w:.4g} W"
            )
        if mean > bounds.ceiling_w * (1 - rules.near_share):
            warnings.append(f"mean power {mean:.4g} W is near the ceiling {bounds.ceiling_w:.4g} W")
        checks.append(
            Check(
                "physics.power",
                "pass",
                f"mean power {mean:.4g} W within {bounds.floor_w:.4g}-{bounds.ceiling_w:.4g} W "
                f"for {what}",
            )
        )
    checks += _roofline(
        manifest, hardware, model, implied_quantization, bounds, warnings, rules,
        energy_j=energy_j, latency_s=latency_s, ttft_s=ttft_s, output_tokens=output_tokens,
    )  # fmt: skip
    if warnings:
        checks.append(
            Check(
                NEAR_BOUND,
                "warn",
                "; ".join(warnings) + ": possible, but held for staff review",
                file=QUERIES,
            )
        )
    return checks


def _roofline(
    manifest: Manifest,
    hardware: Accelerator,
    model: ModelEntry | None,
    implied_quantization: str | None,
    bounds: PowerBounds,
    warnings: list[str],
    rules: PhysicsRules,
    *,
    energy_j: np.ndarray,
    latency_s: np.ndarray,
    ttft_s: np.ndarray,
    output_tokens: np.ndarray,
) -> list[Check]:
    quantization = manifest.model.quantization
    if quantization.casefold() in ("", "unknown"):
        quantization = implied_quantization or quantization
    ceiling = (
        roofline_tok_s(hardware, model, manifest.hardware.count, quantization) if model else None
    )
    if ceiling is None:
        why = "model not in the catalog" if model is None else "bandwidth or parameters unknown"
        return [Check("physics.roofline", "pass", f"decode roofline not judged: {why}")]
    speculative = manifest.model.speculative_decoding
    allowed = ceiling * rules.roofline_margin * (rules.speculative_factor if speculative else 1)
    tokens = np.nan_to_num(output_tokens, nan=0.0)
    timed = ~np.isnan(ttft_s) & (latency_s > ttft_s) & (tokens > 1)
    if timed.any():
        decode_tokens = float((tokens[timed] - 1).sum())
        decode_s = float((latency_s[timed] - ttft_s[timed]).sum())
    else:  # no TTFT: whole-query throughput, a lower bound on decode speed
        timed = (latency_s > 0) & (tokens > 0)
        decode_tokens, decode_s = float(tokens[timed].sum()), float(latency_s[timed].sum())
    if decode_s <= 0 or decode_tokens <= 0:
        return [Check("physics.roofline", "pass", "decode roofline not judged: no timed tokens")]
    speed = decode_tokens / decode_s
    basis = (
        f"{hardware.memory_bandwidth_gbs:g} GB/s x {manifest.hardware.count} / "
        f"({model.params_active_b or model.params_total_b:g} B active parameters x "  # type: ignore[union-attr]
        f"{bits_per_weight(quantization):g} bits at quantization {quantization!r})"
    )
    if speed > allowed:
        raise BundleError(
            ROOFLINE,
            f"decode throughput {speed:.4g} tokens/s exceeds the roofline {ceiling:.4g} tokens/s "
            f"x {allowed / ceiling:g} margin = {allowed:.4g} ({basis})"
            + ("" if speculative else "; declare model.speculative_decoding if the engine drafts"),
            file=QUERIES,
            field="output_tokens",
        )
    if speed > allowed * (1 - rules.near_share):
        warnings.append(
            f"decode throughput {speed:.4g} tokens/s is near the roofline {allowed:.4g}"
        )
    total_tokens = float(tokens.sum())
    total_energy = float(energy_j[energy_j > 0].sum())
    if total_tokens > 0 and total_energy > 0:
        per_token = total_energy / total_tokens
        floor = bounds.floor_w / allowed
        if per_token < floor:
            raise BundleError(
                ENERGY_FLOOR,
                f"{per_token:.3g} J per output token is below the floor {floor:.3g} J "
                f"(idle floor {bounds.floor_w:.4g} W / {allowed:.4g} tokens/s)",
                file=QUERIES,
                field="energy_j",
            )
    note = " (speculative decoding declared)" if speculative else ""
    return [
        Check(
            "physics.roofline",
            "pass",
            f"decode {speed:.4g} tokens/s <= {allowed:.4g}{note} ({basis})",
        )
    ]
