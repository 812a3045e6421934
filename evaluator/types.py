"""Value types shared by the engine, the worker and the CLI. Frozen: results are facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from evaluator.items import DatasetItems
    from evaluator.manifest_model import Manifest

CheckStatus = Literal["pass", "warn", "fail"]
ItemStatus = Literal["correct", "incorrect", "unscored"]
# How an item is scored; the dataset decides, never the bundle.
ScoringMethod = Literal["letter_match", "numeric_match", "exact_match", "llm_judge"]


@dataclass(frozen=True, slots=True)  # slots: a million items, ~100 bytes less each
class DatasetItem:
    id: str
    prompt: str
    reference: str | None  # None when the version keeps its references private and we lack them
    domain: str
    method: ScoringMethod
    params: Mapping[str, Any] = field(default_factory=dict)  # options, tolerance, rubric ...


@dataclass(frozen=True)
class Dataset:
    slug: str
    version: str
    sha256: str  # of the canonical JSONL file
    # Any sequence of items is accepted and kept as ``evaluator.items.DatasetItems`` (Arrow
    # columns): a million items as Python objects would not fit the worker's memory budget.
    items: Sequence[DatasetItem]

    def __post_init__(self) -> None:
        from evaluator.items import DatasetItems  # items.py imports this module

        object.__setattr__(self, "items", DatasetItems.build(self.items))

    @property
    def columns(self) -> DatasetItems:
        """``items`` with its Arrow-side API (ids, domains, batch ``take``)."""
        return cast("DatasetItems", self.items)

    def ids(self) -> list[str]:
        return list(self.columns.ids().to_pylist())


@dataclass(frozen=True)
class Check:
    """One validation check's outcome. ``fail`` rejects; ``warn`` holds for staff review."""

    code: str
    status: CheckStatus
    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "status": self.status,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "field": self.field,
        }


@dataclass(frozen=True)
class ItemScore:
    status: ItemStatus
    extracted: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ItemResult:
    query_id: str
    domain: str
    method: str
    status: ItemStatus
    extracted: str | None
    reason: str
    energy_j: float | None
    latency_s: float
    ttft_s: float | None
    output_tokens: int | None
    response: str = ""  # the model's response text, kept for the board's per-query drill-down
    # Appended (positional construction above stays valid): the prompt's tokens, and the optional
    # per-query columns (evaluator.bundle.tables.OPTIONAL_QUERY_COLUMNS), None where not measured.
    input_tokens: int | None = None
    reasoning_tokens: int | None = None
    prefill_energy_j: float | None = None
    decode_energy_j: float | None = None
    prefill_s: float | None = None
    decode_s: float | None = None
    cpu_energy_j: float | None = None
    ane_energy_j: float | None = None
    gpu_utilization_pct: float | None = None
    mfu: float | None = None
    mbu: float | None = None
    turns: int | None = None
    tool_calls: int | None = None
    tool_s: float | None = None


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class DomainMetrics:
    n_queries: int
    n_scored: int
    accuracy: float | None
    mean_energy_j: float | None
    mean_power_w: float | None


@dataclass(frozen=True)
class Metrics:
    n_queries: int
    n_scored: int
    n_correct: int
    accuracy: float
    accuracy_ci: Interval
    mean_power_w: float  # mean over queries of E_q / t_q
    mean_energy_j: float  # mean over queries of E_q
    ipw: float  # accuracy / mean_power_w
    ipw_ci: Interval
    ipj: float  # accuracy / mean_energy_j
    ipj_ci: Interval
    total_energy_j: float
    energy_per_1k_output_tokens_j: float | None
    throughput_tok_s: float | None  # total output tokens / total latency
    ttft_p50_s: float | None
    ttft_p95_s: float | None
    latency_p50_s: float
    latency_p95_s: float
    per_domain: Mapping[str, DomainMetrics]
    # ``Evaluation`` field -> mean of a per-query column, None where no query reports it
    # (``evaluator.metrics.MEAN_COLUMNS`` and ``query_means``).
    means: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogResolution:
    """What the catalog made of the manifest's names (keys of ``data/catalog`` entries)."""

    hardware_key: str | None
    model_key: str | None
    implied_quantization: str | None = None  # e.g. an Ollama tag's default quantization
    hardware_generic: bool = False  # the label names no chip ("GPU")


@dataclass(frozen=True)
class BundleInfo:
    bundle_sha256: str  # of the whole bundle file as uploaded
    run_id: str
    key_fingerprint: str
    manifest: Manifest  # the validated, typed manifest (from verified bytes only)
    member_sha256: Mapping[str, str]  # member name -> sha256 hex, from the verified statement
    challenge: str | None
    has_trace: bool
    # A compact shape signature of the telemetry trace (``evaluator.fingerprint``): the server keeps
    # it and holds a bundle whose trace is near-identical to another's (``traces_similar``).
    trace_fingerprint: str | None = None
    # The power trace downsampled for display (``evaluator.trace_preview``), kept by the server so
    # that no web request reads the trace itself. ``Any``: types.py imports nothing of ours.
    trace_preview: Any = None
    # The catalog entries the model and hardware resolved to (None: unknown, held for staff).
    catalog: CatalogResolution = CatalogResolution(None, None)
    # What the run measured, blind to its encoding, row order and run id (``evaluator.content``):
    # the server rejects an exact copy and holds a near-copy of another submission's content.
    content_fingerprint: str | None = None


@dataclass(frozen=True)
class EvaluationResult:
    bundle: BundleInfo
    metrics: Metrics
    # One per dataset item, in dataset order. The engine returns an ``evaluator.results.ItemResults``
    # (columns; each ItemResult is built when read) so a million queries stay small in memory.
    items: Sequence[ItemResult]
    checks: tuple[Check, ...]
    scorer_version: str
    claimed_accuracy: float | None
    # Visible labels for the board: "no-trace", "no-challenge", "provisional",
    # "unscored-items", "accuracy-claim-gap", "synthetic" ...
    labels: tuple[str, ...]

    @property
    def warned(self) -> bool:
        return any(check.status == "warn" for check in self.checks)
