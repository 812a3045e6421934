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

from evaluator.errors import BundleError, register
from evaluator.harness_report import SOURCE as IMPORT_SOURCE
from evaluator.manifest import parse_time
from evaluator.measurement_classes import (
    BASIS_BY_KEY,
    DEFAULT_ATTRIBUTION,
    basis_fits,
    default_basis,
)
from evaluator.names import clean_name

BASIS_SCOPE = register(
    "manifest.measurement.basis_scope",
    "measurement.basis sums rails the measurement scope does not cover (e.g. basis 'soc' with "
    "scope 'accelerator').",
)
# Where a reference-harness import says which harness generation it read (evaluator.harness).


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
    # The submitter's own words about the model; used only for fictional (synthetic) models.
    declared_family: str = ""
    declared_params_total_b: float | None = None
    declared_params_active_b: float | None = None


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
    # How each query was charged its energy (``measurement_classes.ATTRIBUTIONS``) and which rails
    # energy_j sums (``BASES``). A manifest without them: see ``_attribution`` / ``default_basis``.
    attribution: str = DEFAULT_ATTRIBUTION
    basis: str = "accelerator"

    @property
    def class_key(self) -> tuple[str, str, str, str]:
        """What rankings must never mix: scope, method, attribution and basis."""
        return (self.scope, self.method, self.attribution, self.basis)


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
    # The submitter's (e.g. the harness's ``ipw analyze``) own IPW, IPJ and count of imputed
    # energies: cross-checked against ours, never used.
    claimed_ipw: float | None = None
    claimed_ipj: float | None = None
    claimed_energy_imputed: int | None = None
    # "single_turn" (one prompt, one answer) or "agentic" (a task of several turns and tool calls):
    # ranked separately. Absent: "single_turn".
    workload_kind: str = "single_turn"
    workload_agent: str = ""

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
        claimed = data.get("claimed") or {}
        workload = data.get("workload") or {}
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
                declared_family=str(model.get("family") or ""),
                declared_params_total_b=model.get("params_total_b"),
                declared_params_active_b=model.get("params_active_b")
                or model.get("params_total_b"),
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
            measurement=_measurement(measurement, data.get("import") or {}),
            window_start=parse_time(data["window"]["start"], "window.start"),
            window_end=parse_time(data["window"]["end"], "window.end"),
            challenge=data["challenge"],
            claimed_accuracy=claimed.get("accuracy"),
            import_info=dict(data.get("import") or {}),
            raw=data,
            claimed_ipw=claimed.get("ipw"),
            claimed_ipj=claimed.get("ipj"),
            claimed_energy_imputed=claimed.get("energy_imputed"),
            workload_kind=str(workload.get("kind") or "single_turn"),
            workload_agent=clean_name(workload["agent"], "workload.agent")
            if workload.get("agent")
            else "",
        )


def _attribution(measurement: Mapping[str, Any], imported: Mapping[str, Any]) -> str:
    """The declared attribution; absent, ``in_window`` (the bundle format's definition of
    energy_j), except a reference-harness import packed before imports recorded the harness
    generation: every such import read the chained harness of November 2025."""
    declared = measurement.get("attribution")
    if declared:
        return str(declared)
    if imported.get("source") == IMPORT_SOURCE and not imported.get("generation"):
        return "chained"
    return DEFAULT_ATTRIBUTION


def _measurement(measurement: Mapping[str, Any], imported: Mapping[str, Any]) -> MeasurementSpec:
    scope = measurement["scope"]
    basis = str(measurement.get("basis") or default_basis(scope))
    if not basis_fits(scope, basis):
        covered = ", ".join(sorted(BASIS_BY_KEY[basis].scopes)) if basis in BASIS_BY_KEY else "?"
        raise BundleError(
            BASIS_SCOPE,
            f"measurement.basis {basis!r} needs a meter covering scope {covered}, but the "
            f"scope is {scope!r}",
            file="manifest.json",
            field="measurement.basis",
        )
    return MeasurementSpec(
        scope,
        measurement["method"],
        float(measurement["sampling_period_s"]),
        attribution=_attribution(measurement, imported),
        basis=basis,
    )
