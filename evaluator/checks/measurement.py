"""The measurement class must fit the hardware it claims to have metered.

What each (scope, method) pair means and which vendor families can report it is one table,
``evaluator.measurement_classes``; this module applies it. A contradiction (NVML on Apple
silicon, powermetrics on an NVIDIA GPU, RAPL claiming to meter an accelerator alone) rejects the
bundle (``bundle.measurement.inconsistent``): a board comparing "accelerator" watts with "whole
system" watts is meaningless. Pairs that are possible but unusual warn (``measurement.doubtful``)
and hold the submission for review.

The vendor family comes from the catalog entry the hardware resolved to (or the generic label's
vendor, e.g. Apple for "GPU"); failing that, from the declared vendor when it names a family
exactly. Names are never guessed from patterns: hardware the catalog does not know is not judged
here (it waits in the catalog review queue, and is judged once staff map it).
"""

from __future__ import annotations

from evaluator.catalog import HardwareMatch
from evaluator.errors import BundleError, register
from evaluator.manifest_model import Manifest
from evaluator.measurement_classes import ALL_FAMILIES, METHOD_BY_KEY, doubt
from evaluator.types import Check

MANIFEST = "manifest.json"
INCONSISTENT = register(
    "bundle.measurement.inconsistent",
    "The measurement method or scope cannot have metered the hardware described.",
)
# A CPU+GPU module (Grace Hopper / Grace Blackwell): NVML's module power includes the CPU, so
# scope 'soc' is possible there and nowhere else on NVIDIA hardware.
_SUPERCHIP_FAMILIES = frozenset({"grace hopper", "grace blackwell"})


def hardware_family(manifest: Manifest, match: HardwareMatch) -> str | None:
    """'nvidia', 'apple', 'amd', ... or None when the hardware is not recognised."""
    if match.entry is not None:
        return match.entry.vendor
    if match.generic is not None and match.generic.vendor:
        return match.generic.vendor
    declared = manifest.hardware.vendor.casefold()
    return declared if declared in ALL_FAMILIES - {"other"} else None


def _fail(message: str, field: str = "measurement.method") -> BundleError:
    return BundleError(INCONSISTENT, message, file=MANIFEST, field=field)


def check_measurement(manifest: Manifest, match: HardwareMatch) -> list[Check]:
    """Raise on a contradiction; return a pass, or a ``measurement.doubtful`` warning."""
    scope, method_key = manifest.measurement.scope, manifest.measurement.method
    method = METHOD_BY_KEY[method_key]
    family = hardware_family(manifest, match)
    what = match.entry.name if match.entry else manifest.hardware.accelerator
    doubts: list[str] = []

    if method.families is not None and family is not None and family not in method.families:
        raise _fail(
            f"{method_key} ({method.label}) cannot meter {what}: it reads "
            f"{', '.join(sorted(method.families))} hardware, and this is {family}"
        )
    if scope not in method.scopes:
        raise _fail(
            f"{method.label} cannot measure scope {scope!r}; it measures "
            f"{', '.join(sorted(method.scopes))}: declare the scope it saw or the instrument "
            "you used",
            "measurement.scope",
        )
    superchip = match.entry is not None and match.entry.family.casefold() in _SUPERCHIP_FAMILIES
    if method_key.startswith("nvml") and scope == "soc" and match.entry and not superchip:
        raise _fail(
            f"{method_key} meters a GPU board, not a system-on-chip package (scope 'soc'), "
            f"and {what} is not a CPU+GPU superchip",
            "measurement.scope",
        )
    reason = doubt(scope, method_key)
    if reason:
        doubts.append(f"{method_key} with scope {scope!r}: {reason}")
    if match.entry is not None and method_key not in match.entry.methods and not method.synthetic:
        doubts.append(
            f"the catalog lists {', '.join(match.entry.methods) or 'no methods'} for {what}, "
            f"not {method_key}"
        )
    entry = match.entry
    if method_key == "rapl" and scope == "soc" and entry is not None and entry.kind == "gpu":
        doubts.append(f"RAPL on a system whose accelerator is {what}: the GPU is not metered")
    if scope == "accelerator" and family == "apple" and not method.synthetic:
        doubts.append("scope 'accelerator' on Apple silicon, whose GPU shares the SoC package")
    if doubts:
        return [
            Check(
                "measurement.doubtful",
                "warn",
                "; ".join(doubts) + ": check the measurement class",
                file=MANIFEST,
                field="measurement",
            )
        ]
    judged = f"fits {family} hardware" if family else "hardware not recognised, not judged"
    return [Check("measurement.consistent", "pass", f"{scope}/{method_key}: {judged}")]
