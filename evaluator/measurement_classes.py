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


# Energy attribution and energy basis: two more axes of the measurement class. Results that differ
# in either are not comparable and are never ranked together (like scopes).


@dataclass(frozen=True)
class Attribution:
    key: str
    label: str
    description: str


@dataclass(frozen=True)
class Basis:
    key: str
    label: str
    description: str
    # Scopes a meter must cover for energy_j to be summed over these rails.
    scopes: frozenset[str]
    # energy_j adds the host CPU package to an accelerator's own rail: the physics ceiling of an
    # accelerator scope allows for the host's power (``evaluator.checks.physics``).
    host_cpu: bool = False


ATTRIBUTIONS: tuple[Attribution, ...] = (
    Attribution(
        "in_window",
        "Measured in the query's window",
        "Each query is charged the energy metered between its own start and end. The board's own "
        "bundle format and the reference harness since its in-window change measure this way.",
    ),
    Attribution(
        "chained",
        "Chained since the previous query",
        "Each query is charged the counter delta since the previous query ended, so idle gaps "
        "(and the first query's model load) count against the next query: higher per-query "
        "energy than in-window attribution of the same run. The reference harness before its "
        "in-window change (e.g. commit 11ba0dc, November 2025) measured this way.",
    ),
)

BASES: tuple[Basis, ...] = (
    Basis(
        "accelerator",
        "Accelerator rail",
        "energy_j is the accelerator's own rail: a GPU board's counter, or the GPU rail alone of a "
        "system-on-chip (the reference harness's per_query_joules on a Mac before its SoC basis).",
        frozenset({"accelerator", "soc"}),
    ),
    Basis(
        "soc",
        "Whole SoC (CPU + GPU + neural engine)",
        "energy_j sums every rail of a system-on-chip: CPU, GPU and neural engine "
        "(the reference harness's soc_per_query_joules).",
        frozenset({"soc"}),
    ),
    Basis(
        "cpu_accelerator",
        "CPU package + accelerator",
        "energy_j is the accelerator's energy plus the host CPU package's (RAPL) energy over the "
        "same window.",
        frozenset({"accelerator", "soc"}),
        host_cpu=True,
    ),
    Basis(
        "wall",
        "Wall",
        "energy_j is what the whole machine drew at the socket.",
        frozenset({"wall"}),
    ),
)

ATTRIBUTION_BY_KEY: dict[str, Attribution] = {a.key: a for a in ATTRIBUTIONS}
BASIS_BY_KEY: dict[str, Basis] = {b.key: b for b in BASES}
ATTRIBUTION_KEYS: tuple[str, ...] = tuple(ATTRIBUTION_BY_KEY)
BASIS_KEYS: tuple[str, ...] = tuple(BASIS_BY_KEY)
# What a manifest without ``measurement.attribution`` means: the bundle format defines energy_j as
# the energy of the query's own window. (Exception, in ``evaluator.manifest_model``: a reference
# harness import made before the field existed was chained.)
DEFAULT_ATTRIBUTION = "in_window"
# What a manifest without ``measurement.basis`` means: the rails its scope covers.
_DEFAULT_BASIS_OF_SCOPE = {"accelerator": "accelerator", "soc": "soc", "wall": "wall"}


def default_basis(scope: str) -> str:
    """The basis a manifest without ``measurement.basis`` declares: the rails its scope covers."""
    return _DEFAULT_BASIS_OF_SCOPE.get(scope, scope)


def basis_fits(scope: str, basis: str) -> bool:
    """Whether energy summed over ``basis`` can come from a meter covering ``scope``."""
    return basis in BASIS_BY_KEY and scope in BASIS_BY_KEY[basis].scopes


# The board's ranking class: one slug naming everything rankings must not mix (scope,
# attribution, basis, workload). The common case is just the scope ("accelerator"), so existing
# permalinks keep working; anything else qualifies it ("accelerator-chained",
# "soc-accelerator-basis", "accelerator-agentic").
WORKLOAD_KINDS: tuple[str, ...] = ("single_turn", "agentic")


def ranking_class(scope: str, attribution: str = "", basis: str = "", workload: str = "") -> str:
    parts = [scope]
    if attribution and attribution != DEFAULT_ATTRIBUTION:
        parts.append(attribution.replace("_", "-"))
    if basis and basis != default_basis(scope):
        parts.append(f"{basis.replace('_', '-')}-basis")
    if workload == "agentic":
        parts.append("agentic")
    return "-".join(parts)


def ranking_class_parts(key: str) -> tuple[str, str, str, str]:
    """(scope, attribution, basis, workload) of a ``ranking_class`` slug."""
    scope, _, rest = key.partition("-")
    attribution, basis, workload = DEFAULT_ATTRIBUTION, default_basis(scope), "single_turn"
    if rest.endswith("agentic"):
        workload, rest = "agentic", rest.removesuffix("agentic").rstrip("-")
    for candidate in ATTRIBUTION_KEYS:
        slug = candidate.replace("_", "-")
        if rest == slug or rest.startswith(slug + "-"):
            attribution, rest = candidate, rest[len(slug) :].lstrip("-")
    if rest.endswith("-basis") or rest == "basis":
        basis = rest.removesuffix("basis").rstrip("-").replace("-", "_") or basis
    return scope, attribution, basis, workload


def ranking_class_label(key: str) -> str:
    """'Accelerator only' or 'Accelerator only · chained since the previous query · agentic'."""
    scope, attribution, basis, workload = ranking_class_parts(key)
    words = [SCOPE_BY_KEY[scope].label if scope in SCOPE_BY_KEY else scope]
    if attribution != DEFAULT_ATTRIBUTION:
        words.append(ATTRIBUTION_BY_KEY[attribution].label.lower())
    if basis != default_basis(scope) and basis in BASIS_BY_KEY:
        words.append(f"basis: {BASIS_BY_KEY[basis].label.lower()}")
    if workload == "agentic":
        words.append("agentic tasks")
    return " · ".join(words)
