"""``evaluate()``: the one entry point the CLI preflight and the server worker share.

Checks run in a fixed order and the first failure raises ``BundleError``: unpack safely, verify the
signature and digests, validate the manifest, match the dataset, then the workload, values, timing,
telemetry and token checks, and only then score and compute metrics. Nothing from the bundle is
trusted before the step that vouches for it (the manifest is parsed only once its digest is signed).
Server-only decisions (whose key, replays, challenges issued) are left to the caller via BundleInfo.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from evaluator.bundle.tables import (
    QueryColumns,
    TraceBatch,
    TraceReader,
    iter_response_batches,
    read_query_columns,
)
from evaluator.bundle.unpack import MANIFEST, QUERIES, SIGNATURE, TRACE, OpenedBundle, open_bundle
from evaluator.catalog import Catalog, load_catalog
from evaluator.checks.claims import claim_checks, claim_labels
from evaluator.checks.energy import check_zero_energy
from evaluator.checks.flags import flag_labels
from evaluator.checks.identity import identity_checks
from evaluator.checks.measurement import check_measurement
from evaluator.checks.physics import check_physics
from evaluator.checks.recordable import check_recordable
from evaluator.checks.references import check_copied_references
from evaluator.checks.timing import check_timing
from evaluator.checks.tokens import check_tokens
from evaluator.checks.trace_pass import trace_pass
from evaluator.checks.values import check_values
from evaluator.checks.workload import match_workload
from evaluator.content import result_fingerprint
from evaluator.errors import BundleError, register
from evaluator.harness_report import SOURCE as IMPORT_SOURCE
from evaluator.limits import DEFAULT_LIMITS, Limits
from evaluator.manifest import read_manifest
from evaluator.manifest_model import Manifest
from evaluator.metrics import MetricInputs, compute_metrics
from evaluator.prefetch import Prefetch
from evaluator.results import EXTRA_COLUMNS, STATUS_CODE, ItemResults
from evaluator.scoring import SCORER_VERSION, Judge
from evaluator.scoring.batch import POOL_MIN_ROWS, score_batches
from evaluator.signing import SIGNATURE_MISSING, VerifiedStatement, verify_envelope
from evaluator.trace_preview import TracePreview
from evaluator.types import BundleInfo, CatalogResolution, Check, Dataset, EvaluationResult

DATASET_MISMATCH = register(
    "bundle.dataset.mismatch",
    "The manifest's dataset slug, version or sha256 is not the dataset being evaluated.",
)
STATEMENT_MANIFEST = register(
    "bundle.statement.manifest_mismatch",
    "The signed Statement's run_id or format_version differs from the manifest's.",
)
# Input tokens and the optional per-query columns are carried to the per-query results.
_KEPT_COLUMNS = ("energy_j", "latency_s", "ttft_s", "output_tokens", *EXTRA_COLUMNS)
# Trace batches decoded ahead of the telemetry checks: 8 x 65,536 samples x 24 bytes ~ 13 MB. The
# decoder stays ahead of the checks; 64 batches (~100 MB) bought no measurable time and were the
# largest single item of the worker's peak, held while the queries' columns are read.
_TRACE_PREFETCH = 8
# The server knows many dataset versions and learns which one a bundle ran only from its manifest;
# a resolver is called with the manifest's (validated, signed) ``dataset`` object and may raise
# BundleError when the version is not registered.
DatasetResolver = Callable[[Mapping[str, Any]], Dataset]


def evaluate(
    bundle_path: Path,
    dataset: Dataset | DatasetResolver,
    *,
    trusted_keys: Mapping[str, bytes],
    limits: Limits = DEFAULT_LIMITS,
    judge: Judge | None = None,
    seed: int = 0,
    workdir: Path | None = None,
    catalog: Catalog | None = None,
    processes: int = 1,
) -> EvaluationResult:
    """Evaluate one bundle; raise ``BundleError`` if it is rejected.

    ``catalog``: the accelerators and models the physics checks know (default: the shipped
    ``data/catalog``; a server passes it extended with what its staff mapped).
    ``processes``: re-score on that many cores (``evaluator.scoring.batch.score_batches``); a
    worker that already runs one task per core leaves it at 1."""
    with _scratch(workdir) as scratch:
        checked = _validate(
            Path(bundle_path), dataset, trusted_keys, limits, scratch, catalog or load_catalog()
        )
        return _scored_result(checked, judge, seed, limits, processes)


def validate(
    bundle_path: Path,
    dataset: Dataset | DatasetResolver,
    *,
    trusted_keys: Mapping[str, bytes],
    limits: Limits = DEFAULT_LIMITS,
    workdir: Path | None = None,
    catalog: Catalog | None = None,
) -> tuple[Check, ...]:
    """Every check ``evaluate`` runs, without re-scoring the responses; raise ``BundleError`` if
    the bundle is rejected. (The validation benchmark times this part on its own.)"""
    with _scratch(workdir) as scratch:
        checked = _validate(
            Path(bundle_path), dataset, trusted_keys, limits, scratch, catalog or load_catalog()
        )
        return tuple(checked.checks)


@contextmanager
def _scratch(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="ipwb-", dir=workdir))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass
class _Validated:
    """A bundle that passed every check, and what scoring and the result still need."""

    opened: OpenedBundle
    verified: VerifiedStatement
    manifest: Manifest
    resolution: CatalogResolution
    dataset: Dataset
    queries: QueryColumns
    positions: np.ndarray  # positions[row]: the dataset index row ``row`` answers
    checks: list[Check]
    trace_fingerprint: str | None
    trace_preview: TracePreview | None


def _validate(
    bundle_path: Path,
    dataset: Dataset | DatasetResolver,
    trusted_keys: Mapping[str, bytes],
    limits: Limits,
    scratch: Path,
    catalog: Catalog,
) -> _Validated:
    checks: list[Check] = []
    opened = open_bundle(bundle_path, scratch / "members", limits)
    checks.append(Check("archive.safe", "pass", f"members: {', '.join(sorted(opened.members))}"))

    if not opened.has(SIGNATURE):
        raise BundleError(
            SIGNATURE_MISSING, "the bundle is unsigned: run 'ipwboard sign' first", file=SIGNATURE
        )
    signed_members = {k: v for k, v in opened.member_sha256.items() if k != SIGNATURE}
    verified = verify_envelope(opened.read_bytes(SIGNATURE), signed_members, trusted_keys, limits)
    checks.append(Check("signature.valid", "pass", f"signed by {verified.key_fingerprint}"))

    raw = read_manifest(opened.read_bytes(MANIFEST), limits)
    manifest = Manifest.from_json(raw)
    for key, mine, signed in (
        ("run_id", manifest.run_id, verified.run_id),
        ("format_version", manifest.format_version, verified.format_version),
    ):
        if mine != signed:
            raise BundleError(
                STATEMENT_MANIFEST,
                f"the manifest says {key} {mine!r}, the signature {signed!r}",
                file=MANIFEST,
                field=key,
            )
    checks.append(Check("manifest.valid", "pass", f"format {manifest.format_version}"))
    if not isinstance(dataset, Dataset):
        dataset = dataset(raw["dataset"])
    _check_dataset(manifest, dataset)
    checks.append(Check("dataset.match", "pass", f"{dataset.slug} {dataset.version}"))
    hardware = catalog.resolve_hardware(*manifest.hardware.names)
    model = catalog.resolve_model(manifest.model.id)
    checks += identity_checks(manifest, hardware, model, catalog)
    checks += check_measurement(manifest, hardware)
    resolution = CatalogResolution(
        hardware_key=hardware.entry.key if hardware.entry else None,
        model_key=model.entry.key if model.entry else None,
        implied_quantization=model.quantization,
        hardware_generic=hardware.generic is not None,
    )

    # The trace is decoded on another thread from here on, while the queries are checked; its
    # errors still surface in order, at the telemetry step (see evaluator.prefetch).
    trace = (
        Prefetch(lambda: _trace_batches(opened, limits), depth=_TRACE_PREFETCH)
        if opened.has(TRACE)
        else None
    )
    try:
        return _checked_content(
            opened, verified, manifest, resolution, dataset, checks, trace, limits, catalog
        )
    finally:
        if trace is not None:
            trace.close()


def _trace_batches(opened: OpenedBundle, limits: Limits) -> Iterator[tuple[int, TraceBatch]]:
    """(the trace's row count, batch) for each batch: the count is known once the file is open."""
    reader = TraceReader(opened.open(TRACE), limits)
    for batch in reader.batches():
        yield reader.rows, batch


def _checked_content(
    opened: OpenedBundle,
    verified: VerifiedStatement,
    manifest: Manifest,
    resolution: CatalogResolution,
    dataset: Dataset,
    checks: list[Check],
    trace: Prefetch[tuple[int, TraceBatch]] | None,
    limits: Limits,
    catalog: Catalog,
) -> _Validated:
    """The checks on the queries and the trace, once the signature and manifest are good."""
    queries = read_query_columns(opened.open(QUERIES), limits)
    positions, workload = match_workload(queries.ids, dataset.columns.ids())
    checks += workload
    checks += check_values(queries)
    checks += check_zero_energy(queries)  # the zero-energy rule (evaluator.checks.energy)
    # The per-query power columns are read by the value checks only: freed before the trace pass,
    # the validation's peak (32 MB a million queries).
    for name in ("power_avg_w", "power_max_w", "power_min_w", "power_median_w"):
        queries.numbers.pop(name, None)
    entry = catalog.accelerators.get(resolution.hardware_key or "")
    checks += check_physics(
        manifest,
        entry,
        catalog.models.get(resolution.model_key or ""),
        resolution.implied_quantization,
        energy_j=queries["energy_j"],
        latency_s=queries["latency_s"],
        ttft_s=queries["ttft_s"],
        output_tokens=queries["output_tokens"],
    )
    window = (manifest.window_start, manifest.window_end)
    checks += check_timing(queries, window, limits, synthetic=manifest.simulated)
    trace_fingerprint: str | None = None
    trace_preview: TracePreview | None = None
    if trace is not None:
        telemetry, trace_fingerprint, trace_preview = trace_pass(
            trace, manifest, entry, queries, window, limits
        )
        checks += telemetry
    checks += check_tokens(queries)
    return _Validated(
        opened,
        verified,
        manifest,
        resolution,
        dataset,
        queries,
        positions,
        checks,
        trace_fingerprint,
        trace_preview,
    )


def _scored_result(
    checked: _Validated, judge: Judge | None, seed: int, limits: Limits, processes: int = 1
) -> EvaluationResult:
    """Re-score every response of a validated bundle and compute the board's metrics."""
    opened, manifest, dataset, queries = (
        checked.opened,
        checked.manifest,
        checked.dataset,
        checked.queries,
    )
    checks = checked.checks
    input_tokens = queries["input_tokens"]  # for the content fingerprint (evaluator.content)
    # Only the per-item numbers survive the checks: free the rest before scoring (a million rows
    # of seven float columns is ~56 MB).
    for name in [name for name in queries.numbers if name not in _KEPT_COLUMNS]:
        del queries.numbers[name]
    queries.response_chars = queries.response_chars[:0]

    scores = _score(opened, dataset, queries, checked.positions, judge, limits, processes)
    checks += check_copied_references(scores)
    metrics = compute_metrics(_metric_inputs(dataset, scores), seed=seed)
    checks += check_recordable(metrics)
    claimed = manifest.claimed_accuracy
    labels = _labels(opened, manifest)
    if (scores.status == STATUS_CODE["unscored"]).any():
        labels.append("unscored-items")
    labels += flag_labels(checks)  # energy-imputed, reference-copy-suspect
    claimed_checks = claim_checks(manifest, metrics, limits)
    checks += claimed_checks
    labels += claim_labels(claimed_checks)
    if any(check.status == "warn" for check in checks):
        labels.append("provisional")  # held for staff review until the warnings are looked at
    info = BundleInfo(
        bundle_sha256=opened.bundle_sha256,
        run_id=manifest.run_id,
        key_fingerprint=checked.verified.key_fingerprint,
        manifest=manifest,
        member_sha256=dict(checked.verified.subjects),
        challenge=manifest.challenge,
        has_trace=opened.has(TRACE),
        trace_fingerprint=checked.trace_fingerprint,
        trace_preview=checked.trace_preview,
        catalog=checked.resolution,
        content_fingerprint=result_fingerprint(scores, input_tokens, checked.positions),
    )
    return EvaluationResult(
        bundle=info,
        metrics=metrics,
        items=scores,
        checks=tuple(checks),
        scorer_version=SCORER_VERSION,
        claimed_accuracy=claimed,
        labels=tuple(labels),
    )


def _check_dataset(manifest: Manifest, dataset: Dataset) -> None:
    declared = manifest.dataset
    for key, theirs, ours in (
        ("slug", declared.slug, dataset.slug),
        ("version", declared.version, dataset.version),
        ("sha256", declared.sha256, dataset.sha256),
    ):
        if theirs != ours:
            raise BundleError(
                DATASET_MISMATCH,
                f"the bundle ran dataset {key} {theirs!r} but this board's "
                f"{dataset.slug} {dataset.version} has {key} {ours!r}; run the published dataset",
                file=MANIFEST,
                field=f"dataset.{key}",
            )


def _score(
    opened: OpenedBundle,
    dataset: Dataset,
    queries: QueryColumns,
    positions: np.ndarray,
    judge: Judge | None,
    limits: Limits,
    processes: int,
) -> ItemResults:
    """Score every response, streamed in file order; results come back in dataset order.

    A batch of responses stays Arrow strings from the file to the per-query results: the batch
    scorer (``evaluator.scoring.batch``) settles what Arrow can and builds items and Python strings
    only for the rows a per-row scorer reads. Numbers stay numpy columns. ``positions[row]`` is the
    row's dataset index (from the workload check, which guarantees a permutation).
    """
    items = dataset.columns
    n = len(items)
    status = np.empty(n, dtype=np.uint8)
    extracted: list[pa.Array] = []
    reasons: list[pa.Array] = []
    texts: list[pa.Array] = []
    wheres: deque[np.ndarray] = deque()

    def batches() -> Iterator[tuple[pa.Table, pa.Array]]:
        row = 0
        for responses in iter_response_batches(opened.open(QUERIES), limits):
            where = positions[row : row + len(responses)]
            wheres.append(where)
            texts.append(responses)
            row += len(responses)
            yield items.table.take(pa.array(where)), responses

    pool = processes if n >= POOL_MIN_ROWS else 1
    for scores in score_batches(batches(), judge, processes=pool):
        status[wheres.popleft()] = scores.status
        extracted.append(scores.extracted)
        reasons.append(scores.reason)
    # Rows -> dataset order: row_at[i] is the row that answered dataset item i.
    row_at = np.empty(n, dtype=np.int64)
    row_at[positions] = np.arange(n, dtype=np.int64)
    in_order = bool((row_at == np.arange(n)).all())
    extracted_column = pa.chunked_array(extracted, pa.string())
    reason_column = pa.chunked_array(reasons, pa.string())
    response_column = pa.chunked_array(texts, pa.string())
    if not in_order:
        take = pa.array(row_at)
        extracted_column, reason_column = extracted_column.take(take), reason_column.take(take)
        response_column = response_column.take(take)

    def column(name: str) -> np.ndarray:
        values = queries[name]
        return values if in_order else values[row_at]

    return ItemResults(
        items,
        status,
        extracted_column,
        reason_column,
        energy_j=column("energy_j"),
        latency_s=column("latency_s"),
        ttft_s=column("ttft_s"),
        output_tokens=column("output_tokens"),
        response=response_column,
        extra={name: column(name) for name in EXTRA_COLUMNS if name in queries.numbers},
    )


def _metric_inputs(dataset: Dataset, results: ItemResults) -> MetricInputs:
    return MetricInputs(
        correct=results.status == STATUS_CODE["correct"],
        scored=results.status != STATUS_CODE["unscored"],
        energy_j=results.energy_j,
        latency_s=results.latency_s,
        ttft_s=results.ttft_s,
        output_tokens=results.output_tokens,
        domains=dataset.columns.domains(),
        extra=results.extra,
    )


def _labels(opened: OpenedBundle, manifest: Manifest) -> list[str]:
    labels = []
    if not opened.has(TRACE):
        labels.append("no-trace")
    if manifest.challenge is None:
        labels.append("no-challenge")
    if manifest.simulated:
        labels.append("synthetic")
    if manifest.import_info.get("source") == IMPORT_SOURCE:
        labels.append("imported-from-ipw-harness")
    if manifest.model.speculative_decoding:
        labels.append("speculative-decoding")
    return labels
