"""Bad cases: a measurement class that cannot have metered the hardware described."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from badbundles.rewrite import case, mutate

APPLE = {
    "label": "M3 Max",
    "accelerator": "Apple M3 Max",
    "vendor": "Apple",
    "count": 1,
    "class": "local",
    "memory_gb": 64,
}


def _measured(scope: str, method: str, hardware: dict[str, Any] | None = None) -> Any:
    def change(manifest: dict[str, Any]) -> None:
        manifest["measurement"].update(scope=scope, method=method)
        if hardware is not None:
            manifest["hardware"] = dict(hardware)

    return change


@case("bundle.measurement.inconsistent")
def nvml_on_apple_silicon(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=_measured("soc", "nvml_counter", APPLE))


@case("bundle.measurement.inconsistent")
def powermetrics_on_an_nvidia_gpu(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=_measured("soc", "powermetrics"))


@case("bundle.measurement.inconsistent")
def powermetrics_scope_accelerator(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=_measured("accelerator", "powermetrics", APPLE))


@case("bundle.measurement.inconsistent")
def rapl_metering_an_accelerator(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=_measured("accelerator", "rapl"))


@case("bundle.measurement.inconsistent")
def nvml_at_the_wall(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=_measured("wall", "nvml_polling"))


@case("bundle.measurement.inconsistent")
def rapl_on_apple_silicon(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=_measured("soc", "rapl", APPLE))
