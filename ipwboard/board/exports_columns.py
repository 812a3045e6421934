"""The board export's columns: one list is the CSV/JSON/Parquet layout and the data dictionary."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    source: str  # a ``values()`` path from Evaluation, or "" when computed
    type: str  # string | float | int | bool | timestamp
    unit: str
    description: str

    def to_dict(self) -> dict[str, str]:
        data = asdict(self)
        data.pop("source")
        return data


_S = "submission__"

COLUMNS: tuple[Column, ...] = (
    Column("submission_id", f"{_S}id", "string", "", "Stable id of the submission (UUID)."),
    Column("permalink", "", "string", "", "The submission's public page."),
    Column("model", f"{_S}model__name", "string", "", "Model id as submitted (manifest model.id)."),
    Column("model_family", f"{_S}model__family", "string", "", "Model family."),
    Column("params_total_b", f"{_S}model__params_total_b", "float", "1e9", "Total parameters."),
    Column("params_active_b", f"{_S}model__params_active_b", "float", "1e9", "Active parameters."),
    Column("quantization", f"{_S}quantization", "string", "", "Weights quantization."),
    Column("engine", f"{_S}engine", "string", "", "Inference engine."),
    Column("hardware", f"{_S}hardware__label", "string", "", "Hardware label."),
    Column("hardware_vendor", f"{_S}hardware__vendor", "string", "", "Hardware vendor."),
    Column("hardware_class", f"{_S}hardware__hw_class", "string", "", "local or cloud."),
    Column("accelerator", f"{_S}hardware__accelerator", "string", "", "Accelerator name."),
    Column("dataset", f"{_S}dataset_version__dataset__slug", "string", "", "Benchmark dataset."),
    Column("dataset_version", f"{_S}dataset_version__version", "string", "", "Dataset version."),
    Column(
        "dataset_sha256", f"{_S}dataset_version__sha256", "string", "", "Dataset version checksum."
    ),
    Column(
        "measurement_scope",
        f"{_S}measurement_scope",
        "string",
        "",
        "What was metered: accelerator, soc or wall. Never compare across scopes.",
    ),
    Column("measurement_method", f"{_S}measurement_method", "string", "", "How it was metered."),
    Column("sampling_period_s", f"{_S}sampling_period_s", "float", "s", "Power sampling period."),
    Column("harness", f"{_S}harness", "string", "", "Harness name and version."),
    Column("submitter", f"{_S}owner__username", "string", "", "Submitting account."),
    Column("organisation", f"{_S}organisation__slug", "string", "", "Credited organisation."),
    Column("accuracy", "accuracy", "float", "fraction", "Correct / scored queries (re-scored)."),
    Column("accuracy_low", "accuracy_low", "float", "fraction", "95% bootstrap CI, low."),
    Column("accuracy_high", "accuracy_high", "float", "fraction", "95% bootstrap CI, high."),
    Column("ipw", "ipw", "float", "1/W", "Intelligence per watt: accuracy / mean power."),
    Column("ipw_low", "ipw_low", "float", "1/W", "95% bootstrap CI, low."),
    Column("ipw_high", "ipw_high", "float", "1/W", "95% bootstrap CI, high."),
    Column("ipj", "ipj", "float", "1/J", "Intelligence per joule: accuracy / mean energy."),
    Column("ipj_low", "ipj_low", "float", "1/J", "95% bootstrap CI, low."),
    Column("ipj_high", "ipj_high", "float", "1/J", "95% bootstrap CI, high."),
    Column("mean_power_w", "mean_power_w", "float", "W", "Mean per-query power."),
    Column("mean_energy_j", "mean_energy_j", "float", "J", "Mean per-query energy."),
    Column("total_energy_j", "total_energy_j", "float", "J", "Energy over all queries."),
    Column(
        "energy_per_1k_output_tokens_j",
        "energy_per_1k_output_tokens_j",
        "float",
        "J",
        "Energy per 1,000 output tokens.",
    ),
    Column("throughput_tok_s", "throughput_tok_s", "float", "tokens/s", "Output throughput."),
    Column("ttft_p50_s", "ttft_p50_s", "float", "s", "Time to first token, median."),
    Column("ttft_p95_s", "ttft_p95_s", "float", "s", "Time to first token, 95th percentile."),
    Column("latency_p50_s", "latency_p50_s", "float", "s", "Query latency, median."),
    Column("latency_p95_s", "latency_p95_s", "float", "s", "Query latency, 95th percentile."),
    Column("n_queries", "n_queries", "int", "", "Queries in the bundle."),
    Column("n_scored", "n_scored", "int", "", "Queries the scorer could judge."),
    Column("n_correct", "n_correct", "int", "", "Queries judged correct."),
    Column("claimed_accuracy", "claimed_accuracy", "float", "fraction", "Bundle's own claim."),
    Column("scorer_version", "scorer_version", "string", "", "Pinned scorer version."),
    Column("labels", f"{_S}labels", "string", "", "Board labels, ';'-separated."),
    Column("staff_reproduced", f"{_S}staff_reproduced", "bool", "", "Reproduced by staff."),
    Column(
        "synthetic",
        f"{_S}synthetic",
        "bool",
        "",
        "True for synthetic/demo rows that are not real measurements.",
    ),
    Column("submitted_at", f"{_S}created_at", "timestamp", "UTC", "Upload time."),
    Column("scored_at", f"{_S}finished_at", "timestamp", "UTC", "Scoring time."),
)

_ARROW = {
    "string": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(columns: tuple[Column, ...] = COLUMNS) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW[c.type]) for c in columns])


QUERY_COLUMNS: tuple[Column, ...] = (
    Column("submission_id", "", "string", "", "The submission."),
    Column("position", "position", "int", "", "Order in the dataset."),
    Column("query_id", "query_id", "string", "", "Dataset item id."),
    Column("domain", "domain", "string", "", "Item domain."),
    Column("method", "method", "string", "", "Scoring method."),
    Column("status", "status", "string", "", "correct, incorrect or unscored."),
    Column("extracted", "extracted", "string", "", "Answer the scorer extracted."),
    Column("reason", "reason", "string", "", "Why the scorer decided so."),
    Column("response", "response", "string", "", "Raw model response."),
    Column("energy_j", "energy_j", "float", "J", "Energy of the query."),
    Column("latency_s", "latency_s", "float", "s", "Latency of the query."),
    Column("power_w", "", "float", "W", "energy_j / latency_s."),
    Column("ttft_s", "ttft_s", "float", "s", "Time to first token."),
    Column("output_tokens", "output_tokens", "int", "", "Output tokens."),
    Column("synthetic", "", "bool", "", "True when the submission is synthetic demo data."),
)
