"""The measurement class must fit the hardware it claims to have metered.

``measurement.method`` names an instrument and ``measurement.scope`` what it saw; some pairs, and
some instruments on some hardware, cannot happen: NVML exists only on NVIDIA GPUs and reads the GPU
board, ``powermetrics`` only on Apple silicon and reads the SoC package, RAPL reads CPU packages
(never an accelerator on its own) and does not exist on Apple silicon. Such a contradiction rejects
the bundle (``bundle.measurement.inconsistent``): a board comparing "accelerator" watts with
"whole system" watts is meaningless. Combinations that are possible but unusual warn
(``measurement.doubtful``) and hold the submission for review.

The hardware is recognised from ``hardware.vendor``, ``hardware.accelerator`` and
``hardware.label`` (and ``system`` for macOS). Hardware this module does not recognise is not
judged: an unknown name is not evidence of a contradiction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from evaluator.errors import BundleError, register
from evaluator.types import Check

MANIFEST = "manifest.json"
INCONSISTENT = register(
    "bundle.measurement.inconsistent",
    "The measurement method or scope cannot have metered the hardware described.",
)

_FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "nvidia",
        re.compile(
            r"\bnvidia\b|geforce|\brtx\b|\btesla\b|quadro|\bjetson\b|"
            r"\b(?:a\d{2,3}g?|h\d{3}|h20|l4|l40s?|b\d{3}|gh200|gb200)\b",
            re.IGNORECASE,
        ),
    ),
    # Not a bare "M3": cloud instance types ("m5.xlarge") look like that.
    ("apple", re.compile(r"\bapple\b|\bm[1-9]\s+(?:pro|max|ultra)\b", re.IGNORECASE)),
    ("amd", re.compile(r"\bamd\b|radeon|\binstinct\b|\bmi\d{3}x?\b", re.IGNORECASE)),
    ("intel", re.compile(r"\bintel\b|\bgaudi\d?\b|\barc\s+[ab]\d", re.IGNORECASE)),
    ("google", re.compile(r"\bgoogle\b|\btpu\b", re.IGNORECASE)),
    ("qualcomm", re.compile(r"qualcomm|snapdragon", re.IGNORECASE)),
)
_SUPERCHIP = re.compile(r"\b(?:gh|gb)200\b", re.IGNORECASE)  # CPU+GPU modules: NVML sees both
_MACOS = re.compile(r"\b(?:macos|darwin|mac\s*os)\b", re.IGNORECASE)


def hardware_family(manifest: Mapping[str, Any]) -> str | None:
    """'nvidia', 'apple', 'amd', 'intel', 'google', 'qualcomm' or None when not recognised.

    The vendor field decides when it names a family; otherwise the accelerator name and label.
    """
    hardware = manifest["hardware"]
    for text in (
        str(hardware.get("vendor") or ""),
        f"{hardware.get('accelerator') or ''} {hardware.get('label') or ''}",
    ):
        found = [family for family, pattern in _FAMILIES if pattern.search(text)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None  # ambiguous ("AMD EPYC + NVIDIA H100"): not judged
    system = " ".join(str(v) for v in (manifest.get("system") or {}).values())
    return "apple" if _MACOS.search(system) else None


def _fail(message: str, field: str = "measurement.method") -> BundleError:
    return BundleError(INCONSISTENT, message, file=MANIFEST, field=field)


def check_measurement(manifest: Mapping[str, Any]) -> list[Check]:
    """Raise on a contradiction; return a pass, or a ``measurement.doubtful`` warning."""
    measurement = manifest["measurement"]
    scope, method = measurement["scope"], measurement["method"]
    family = hardware_family(manifest)
    what = manifest["hardware"].get("accelerator") or manifest["hardware"].get("label")
    doubts: list[str] = []

    if method in ("nvml_counter", "nvml_polling"):
        if family is not None and family != "nvidia":
            raise _fail(f"{method} reads NVIDIA's NVML, but the hardware is {what} ({family})")
        if scope == "wall":
            raise _fail(
                f"{method} reads the GPU's own sensor; it cannot meter the whole system at the "
                "wall (scope 'wall'): declare scope 'accelerator' or the instrument you used",
                "measurement.scope",
            )
        if scope == "soc":
            if not _SUPERCHIP.search(str(what)):
                raise _fail(
                    f"{method} meters a GPU board, not a system-on-chip package (scope 'soc')",
                    "measurement.scope",
                )
            doubts.append(f"{method} with scope 'soc' on {what}: NVML module power, CPU included")
    elif method == "powermetrics":
        if family is not None and family != "apple":
            raise _fail(f"powermetrics exists only on Apple silicon, but the hardware is {what}")
        if scope != "soc":
            raise _fail(
                f"powermetrics estimates the Apple SoC package's power; scope {scope!r} is not "
                "what it measures: declare scope 'soc'",
                "measurement.scope",
            )
    elif method == "rapl":
        if family == "apple":
            raise _fail(f"RAPL is an x86 CPU interface; {what} is Apple silicon")
        if scope == "accelerator":
            raise _fail(
                "RAPL meters CPU packages and DRAM, never an accelerator on its own: declare "
                "scope 'soc' (package) or 'wall'",
                "measurement.scope",
            )
        if scope == "wall":
            doubts.append("RAPL reads CPU packages, not the whole system at the wall")
        if family in ("nvidia", "amd") and scope == "soc":
            doubts.append(
                f"RAPL on a system whose accelerator is {what}: the GPU's power is not metered"
            )
    elif method == "external_meter" and scope != "wall":
        doubts.append(
            f"an external meter with scope {scope!r} (external meters usually see the wall)"
        )

    if scope == "accelerator" and family == "apple" and method != "simulated":
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
    return [Check("measurement.consistent", "pass", f"{scope}/{method}: {judged}")]
