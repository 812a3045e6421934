"""The measurement-class table: what was metered (scope), how (method), and what can report it.

One table, one place. The manifest schema's enums, the consistency checks
(``evaluator.checks.measurement``), the physics bounds (``evaluator.checks.physics``), the harness
importer, the board's vocabulary and the bundle-format document all derive from it; a test keeps
the derived copies equal (``tests/evaluator/test_measurement_classes.py``).

Results of different scopes measure different things (a wall meter includes the host, fans and
power-supply losses; an accelerator counter does not) and are never ranked together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Vendor families as the catalog names them (``data/catalog/accelerators.json`` ``vendor``).
Family = Literal["nvidia", "amd", "apple", "qualcomm", "intel", "google", "other"]
ALL_FAMILIES: frozenset[str] = frozenset(
    {"nvidia", "amd", "apple", "qualcomm", "intel", "google", "other"}
)
# How the physics checks bound power for a scope (see evaluator.checks.physics):
#   device  - the accelerators' own power: idle floor x count .. TDP x count
#   package - a system-on-chip or CPU package: idle floor x count .. package power x count
#   wall    - the whole machine: at least the devices' idle floor, at most a wall ceiling
Bounds = Literal["device", "package", "wall"]


@dataclass(frozen=True)
class Scope:
    key: str
    label: str
    description: str
    bounds: Bounds


@dataclass(frozen=True)
class Method:
    key: str
    label: str
    description: str
    # Vendor families whose hardware this instrument can meter (None: any).
    families: frozenset[str] | None
    # Scopes it can measure; (scope, reason) pairs it can report only doubtfully (held for review).
    scopes: frozenset[str]
    doubtful: tuple[tuple[str, str], ...] = ()
    synthetic: bool = False


SCOPES: tuple[Scope, ...] = (
    Scope(
        "accelerator",
        "Accelerator only",
        "The GPU/NPU board's own power, from its counter. Excludes CPU, memory, fans and power "
        "supply losses, so it reads lower than the same run measured at the wall.",
        "device",
    ),
    Scope(
        "soc",
        "SoC package",
        "The whole system-on-chip or CPU package (CPU, GPU, neural engine and on-package memory), "
        "as laptops and phones report it. Excludes the display, storage and power supply.",
        "package",
    ),
    Scope(
        "wall",
        "Whole system at the wall",
        "Everything the machine draws from the socket, measured by an external meter: the most "
        "complete and the least flattering scope.",
        "wall",
    ),
)

METHODS: tuple[Method, ...] = (
    Method(
        "nvml_counter",
        "NVML energy counter",
        "NVIDIA's cumulative energy counter (nvmlDeviceGetTotalEnergyConsumption): integrates "
        "power in hardware, so short peaks between samples are not lost.",
        frozenset({"nvidia"}),
        frozenset({"accelerator", "soc"}),
        (("soc", "NVML module power on a CPU+GPU superchip includes the CPU"),),
    ),
    Method(
        "nvml_polling",
        "NVML power polling",
        "NVIDIA's instantaneous power reading sampled periodically and integrated by the harness; "
        "accuracy depends on the sampling period.",
        frozenset({"nvidia"}),
        frozenset({"accelerator", "soc"}),
        (("soc", "NVML module power on a CPU+GPU superchip includes the CPU"),),
    ),
    Method(
        "rocm_smi",
        "ROCm SMI energy counter",
        "AMD's accelerator energy counter read through ROCm SMI / amdsmi.",
        frozenset({"amd"}),
        frozenset({"accelerator"}),
    ),
    Method(
        "rapl",
        "Intel/AMD RAPL",
        "Running Average Power Limit energy counters of the CPU package (and DRAM where exposed).",
        frozenset({"intel", "amd", "nvidia", "other"}),  # x86 hosts, possibly with a GPU beside
        frozenset({"soc", "wall"}),
        (("wall", "RAPL reads CPU packages, not the whole system at the wall"),),
    ),
    Method(
        "powermetrics",
        "powermetrics estimate",
        "Apple's powermetrics tool: a model-based estimate of SoC power, not a physical meter.",
        frozenset({"apple"}),
        frozenset({"soc"}),
    ),
    Method(
        "external_meter",
        "External meter",
        "A calibrated power meter between the machine and the socket.",
        None,
        frozenset({"accelerator", "soc", "wall"}),
        (
            ("accelerator", "external meters usually see the wall, not one accelerator"),
            ("soc", "external meters usually see the wall, not the SoC package"),
        ),
    ),
    Method(
        "simulated",
        "Simulated",
        "No meter at all: synthetic demo data generated to show how the board works.",
        None,
        frozenset({"accelerator", "soc", "wall"}),
        synthetic=True,
    ),
)

SCOPE_BY_KEY: dict[str, Scope] = {scope.key: scope for scope in SCOPES}
METHOD_BY_KEY: dict[str, Method] = {method.key: method for method in METHODS}
SCOPE_KEYS: tuple[str, ...] = tuple(SCOPE_BY_KEY)
METHOD_KEYS: tuple[str, ...] = tuple(METHOD_BY_KEY)


def class_label(scope: str, method: str) -> str:
    """'Accelerator only · NVML energy counter': how the board names a measurement class."""
    scope_label = SCOPE_BY_KEY[scope].label if scope in SCOPE_BY_KEY else scope
    method_label = METHOD_BY_KEY[method].label if method in METHOD_BY_KEY else method
    return f"{scope_label} · {method_label}"


def doubt(scope: str, method: str) -> str | None:
    """Why (scope, method) is possible but doubtful, or None."""
    return dict(METHOD_BY_KEY[method].doubtful).get(scope)
