"""The typed, frozen manifest: what the engine returns and the recorder reads.

``evaluator.manifest`` parses and validates the signed JSON; ``Manifest.from_json`` turns the
validated object into typed values once, so no ``Mapping[str, Any]`` travels from the engine to the
recorder. ``raw`` keeps the validated object for storage and display (the signed bytes decide
what it says; the server still chooses which fields it shows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluator.manifest import parse_time
from evaluator.names import clean_name


@dataclass(frozen=True)
class ModelSpec:
    id: str
    revision: str
    quantization: str
    engine: str
    engine_version: str
    # The engine drafted tokens speculatively: several tokens per weight read, so the
    # throughput roofline allows more (and the board shows the label).
    speculative_decoding: bool = False


@dataclass(frozen=True)
class HardwareSpec:
    label: str
    accelerator: str
    vendor: str
    count: int
    # The submitter's own words about their hardware; shown nowhere (the catalog decides).
    declared_class: str = ""
    declared_memory_gb: float | None = None
    declared_tdp_w: float | None = None

    @property
    def names(self) -> tuple[str, str]:
        """Most specific first: the device name (NVML, ROCm, macOS chip), then the label."""
        return (self.accelerator, self.label)


@dataclass(frozen=True)
class MeasurementSpec:
    scope: str
    method: str
    sampling_period_s: float


@dataclass(frozen=True)
class DatasetRef:
    slug: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format_version: str
    run_id: str
    created_at: str
    synthetic: bool
    harness_name: str
    harness_version: str
    model: ModelSpec
    hardware: HardwareSpec
    dataset: DatasetRef
    measurement: MeasurementSpec
    window_start: float  # epoch seconds
    window_end: float
    challenge: str | None
    claimed_accuracy: float | None
    import_info: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        """Synthetic data, by declaration or by method: never a measurement of real hardware."""
        return self.synthetic or self.measurement.method == "simulated"

    @property
    def harness(self) -> str:
        return f"{self.harness_name} {self.harness_version}".strip()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """From a manifest that ``validate_manifest`` accepted (names checked by ``clean_name``)."""
        model, hardware = data["model"], data["hardware"]
        measurement, dataset = data["measurement"], data["dataset"]
        return cls(
            format_version=data["format_version"],
            run_id=data["run_id"],
            created_at=data["created_at"],
            synthetic=bool(data["synthetic"]),
            harness_name=clean_name(data["harness"]["name"], "harness.name"),
            harness_version=clean_name(data["harness"]["version"], "harness.version"),
            model=ModelSpec(
                id=clean_name(model["id"], "model.id"),
                revision=clean_name(model["revision"], "model.revision"),
                quantization=clean_name(model["quantization"], "model.quantization"),
                engine=clean_name(model["engine"], "model.engine"),
                engine_version=clean_name(model["engine_version"], "model.engine_version"),
                speculative_decoding=bool(model.get("speculative_decoding", False)),
            ),
            hardware=HardwareSpec(
                label=clean_name(hardware["label"], "hardware.label"),
                accelerator=clean_name(hardware["accelerator"], "hardware.accelerator"),
                vendor=clean_name(hardware["vendor"], "hardware.vendor"),
                count=int(hardware["count"]),
                declared_class=str(hardware.get("class") or ""),
                declared_memory_gb=hardware.get("memory_gb"),
                declared_tdp_w=hardware.get("tdp_w"),
            ),
            dataset=DatasetRef(dataset["slug"], dataset["version"], dataset["sha256"]),
            measurement=MeasurementSpec(
                measurement["scope"],
                measurement["method"],
                float(measurement["sampling_period_s"]),
            ),
            window_start=parse_time(data["window"]["start"], "window.start"),
            window_end=parse_time(data["window"]["end"], "window.end"),
            challenge=data["challenge"],
            claimed_accuracy=(data.get("claimed") or {}).get("accuracy"),
            import_info=dict(data.get("import") or {}),
            raw=data,
        )
