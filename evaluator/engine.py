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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from evaluator.bundle.tables import TraceReader, iter_responses, read_query_columns
from evaluator.bundle.unpack import MANIFEST, QUERIES, SIGNATURE, TRACE, OpenedBundle, open_bundle
from evaluator.checks.telemetry import analyse_trace, power_limit_w
from evaluator.checks.timing import check_timing
from evaluator.checks.tokens import check_tokens
from evaluator.checks.values import check_values
from evaluator.checks.workload import check_workload
from evaluator.errors import BundleError, register
from evaluator.limits import DEFAULT_LIMITS, Limits
from evaluator.manifest import parse_time, read_manifest
from evaluator.metrics import MetricInputs, compute_metrics
from evaluator.scoring import SCORER_VERSION, Judge, score_item
from evaluator.signing import SIGNATURE_MISSING, verify_envelope
from evaluator.types import (
    BundleInfo,
    Check,
    Dataset,
    DatasetItem,
    EvaluationResult,
    ItemResult,
)

DATASET_MISMATCH = register(
    "bundle.dataset.mismatch",
    "The manifest's dataset slug, version or sha256 is not the dataset being evaluated.",
)
STATEMENT_MANIFEST = register(
    "bundle.statement.manifest_mismatch",
    "The signed Statement's run_id or format_version differs from the manifest's.",
)
IMPORT_SOURCE = "ipw-harness"
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
) -> EvaluationResult:
    """Evaluate one bundle; raise ``BundleError`` if it is rejected."""
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="ipwb-", dir=workdir))
    try:
        return _evaluate(Path(bundle_path), dataset, trusted_keys, limits, judge, seed, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _evaluate(
    bundle_path: Path,
    dataset: Dataset | DatasetResolver,
    trusted_keys: Mapping[str, bytes],
    limits: Limits,
    judge: Judge | None,
    seed: int,
    scratch: Path,
) -> EvaluationResult:
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

    manifest = read_manifest(opened.read_bytes(MANIFEST), limits)
    for key, signed in (("run_id", verified.run_id), ("format_version", verified.format_version)):
        if manifest[key] != signed:
            raise BundleError(
                STATEMENT_MANIFEST,
                f"the manifest says {key} {manifest[key]!r}, the signature {signed!r}",
                file=MANIFEST,
                field=key,
            )
    checks.append(Check("manifest.valid", "pass", f"format {manifest['format_version']}"))
    if not isinstance(dataset, Dataset):
        dataset = dataset(manifest["dataset"])
    _check_dataset(manifest, dataset)
    checks.append(Check("dataset.match", "pass", f"{dataset.slug} {dataset.version}"))

    queries = read_query_columns(opened.members[QUERIES], limits)
    checks += check_workload(queries.ids, dataset.ids())
    checks += check_values(queries)
    window = (
        parse_time(manifest["window"]["start"], "window.start"),
        parse_time(manifest["window"]["end"], "window.end"),
    )
    checks += check_timing(queries, window, limits)
    if opened.has(TRACE):
        checks += _telemetry(opened, manifest, queries, window, limits)
    checks += check_tokens(queries)

    items, scores = _score(opened, dataset, queries, judge, limits)
    metrics = compute_metrics(_metric_inputs(items, scores), seed=seed)
    claimed = manifest["claimed"].get("accuracy")
    labels = _labels(opened, manifest)
    if any(result.status == "unscored" for result in scores):
        labels.append("unscored-items")
    if claimed is not None and claimed - metrics.accuracy > limits.claim_gap:
        labels.append("accuracy-claim-gap")
        checks.append(
            Check(
                "accuracy.claim_gap",
                "warn",
                f"the bundle claims accuracy {claimed:.3f}; re-scoring gives "
                f"{metrics.accuracy:.3f}",
                file=MANIFEST,
                field="claimed.accuracy",
            )
        )
    if any(check.status == "warn" for check in checks):
        labels.append("provisional")  # held for staff review until the warnings are looked at
    info = BundleInfo(
        bundle_sha256=opened.bundle_sha256,
        run_id=manifest["run_id"],
        key_fingerprint=verified.key_fingerprint,
        manifest=manifest,
        member_sha256=dict(verified.subjects),
        challenge=manifest["challenge"],
        has_trace=opened.has(TRACE),
    )
    return EvaluationResult(
        bundle=info,
        metrics=metrics,
        items=tuple(scores),
        checks=tuple(checks),
        scorer_version=SCORER_VERSION,
        claimed_accuracy=claimed,
        labels=tuple(labels),
    )


def _check_dataset(manifest: Mapping[str, Any], dataset: Dataset) -> None:
    declared = manifest["dataset"]
    for key, ours in (
        ("slug", dataset.slug),
        ("version", dataset.version),
        ("sha256", dataset.sha256),
    ):
        if declared[key] != ours:
            raise BundleError(
                DATASET_MISMATCH,
                f"the bundle ran dataset {key} {declared[key]!r} but this board's "
                f"{dataset.slug} {dataset.version} has {key} {ours!r}; run the published dataset",
                file=MANIFEST,
                field=f"dataset.{key}",
            )


def _telemetry(
    opened: OpenedBundle,
    manifest: Mapping[str, Any],
    queries: Any,
    window: tuple[float, float],
    limits: Limits,
) -> list[Check]:
    started, ended = queries["started_at"], queries["ended_at"]
    timed = bool((~np.isnan(started) & ~np.isnan(ended)).all())
    reader = TraceReader(opened.members[TRACE], limits)
    return analyse_trace(
        reader.batches(),
        period_s=float(manifest["measurement"]["sampling_period_s"]),
        window=window,
        power_limit=power_limit_w(manifest, limits),
        claimed_energy_j=float(np.sum(queries["energy_j"])),
        query_intervals=(started, ended) if timed else None,
        total_rows=reader.rows,
        limits=limits,
    )


def _score(
    opened: OpenedBundle,
    dataset: Dataset,
    queries: Any,
    judge: Judge | None,
    limits: Limits,
) -> tuple[list[DatasetItem], list[ItemResult]]:
    """Score in dataset order; responses are streamed, never all held at once."""
    position = {item.id: index for index, item in enumerate(dataset.items)}
    row_of = {query_id: row for row, query_id in enumerate(queries.ids)}
    results: list[ItemResult | None] = [None] * len(dataset.items)
    for query_id, response in iter_responses(opened.members[QUERIES], limits):
        index = position[query_id]
        item, row = dataset.items[index], row_of[query_id]
        score = score_item(item, response, judge)
        output_tokens = queries["output_tokens"][row]
        ttft = queries["ttft_s"][row]
        results[index] = ItemResult(
            query_id=query_id,
            domain=item.domain,
            method=item.method,
            status=score.status,
            extracted=score.extracted,
            reason=score.reason,
            energy_j=float(queries["energy_j"][row]),
            latency_s=float(queries["latency_s"][row]),
            ttft_s=None if np.isnan(ttft) else float(ttft),
            output_tokens=None if np.isnan(output_tokens) else int(output_tokens),
        )
    done = [result for result in results if result is not None]
    assert len(done) == len(dataset.items)  # the workload check guarantees a row per item
    return list(dataset.items), done


def _metric_inputs(items: list[DatasetItem], results: list[ItemResult]) -> MetricInputs:
    def floats(values: list[float | int | None]) -> np.ndarray:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

    return MetricInputs(
        correct=np.array([r.status == "correct" for r in results], dtype=bool),
        scored=np.array([r.status != "unscored" for r in results], dtype=bool),
        energy_j=floats([r.energy_j for r in results]),
        latency_s=floats([r.latency_s for r in results]),
        ttft_s=floats([r.ttft_s for r in results]),
        output_tokens=floats([r.output_tokens for r in results]),
        domains=[item.domain for item in items],
    )


def _labels(opened: OpenedBundle, manifest: Mapping[str, Any]) -> list[str]:
    labels = []
    if not opened.has(TRACE):
        labels.append("no-trace")
    if manifest["challenge"] is None:
        labels.append("no-challenge")
    if manifest["synthetic"] or manifest["measurement"]["method"] == "simulated":
        labels.append("synthetic")
    if (manifest.get("import") or {}).get("source") == IMPORT_SOURCE:
        labels.append("imported-from-ipw-harness")
    return labels
