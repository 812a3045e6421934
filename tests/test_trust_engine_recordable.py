"""Issue 12, finding 2: anything ``evaluate()`` accepts is recordable.

A property test over generated per-query results: whatever the energy rule
(``evaluator.checks.energy``) and the final guard (``evaluator.checks.recordable``) let through,
``compute_metrics`` and the recorder's ``_create_evaluation`` write to PostgreSQL without an error
(NOT NULL columns, JSON without NaN, integer ranges). Zero energies, subnormal and huge values,
unscored items and missing token counts are all generated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from evaluator.bundle.tables import QueryColumns
from evaluator.checks.energy import check_zero_energy
from evaluator.checks.recordable import check_recordable
from evaluator.errors import BundleError
from evaluator.metrics import MetricInputs, compute_metrics
from evaluator.results import ItemResults
from evaluator.types import BundleInfo, DatasetItem, EvaluationResult, ItemResult
from submissions.models import Evaluation, Submission
from submissions.services.perquery import store_results
from submissions.services.recorder import _create_evaluation as _create
from tests.perquery import query_rows

energies = st.one_of(
    st.floats(min_value=0.0, max_value=1e12, allow_subnormal=True),
    st.floats(min_value=0.01, max_value=5000.0),  # realistic joules per query
)
latencies = st.one_of(
    st.floats(min_value=1e-6, max_value=1e6), st.floats(min_value=0.05, max_value=60.0)
)
rows = st.tuples(
    energies,
    latencies,
    st.sampled_from(["correct", "incorrect", "unscored"]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=1_000_000)),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),  # ttft as a share of latency
    st.sampled_from(["math", "chat", "code"]),
)


def _result(
    generated: list[tuple[Any, ...]], zeros: Sequence[int] = (), *, record: bool = True
) -> EvaluationResult | None:
    """The engine's last steps for these rows (``zeros``: rows read 0 J): the energy rule, the
    metrics, the recordable guard. None when the engine rejects them (a submitter's error)."""
    n = len(generated)
    energy = np.array([r[0] for r in generated], dtype=np.float64)
    energy[[z % n for z in zeros]] = 0.0
    latency = np.array([r[1] for r in generated], dtype=np.float64)
    items = [
        DatasetItem(f"q{i:03d}", "p", "r", r[5], "exact_match") for i, r in enumerate(generated)
    ]
    results = [
        ItemResult(
            f"q{i:03d}",
            r[5],
            "exact_match",
            r[2],
            None,
            "",
            float(energy[i]),
            float(latency[i]),
            None if r[4] is None else r[4] * float(latency[i]),
            r[3],
            "response",
        )
        for i, r in enumerate(generated)
    ]
    queries = QueryColumns(
        ids=pa.array([item.id for item in items]),  # type: ignore[arg-type]
        response_chars=np.zeros(n, dtype=np.int64),
        numbers={"energy_j": energy},
    )
    try:
        checks = check_zero_energy(queries)
        metrics = compute_metrics(MetricInputs.from_items(results), resamples=50)
        check_recordable(metrics)
    except BundleError as error:
        if record:
            event(f"rejected: {error.code}")
        return None
    if record:
        event("accepted")
    info = BundleInfo("0" * 64, "run", "key", None, {}, None, False)  # type: ignore[arg-type]
    return EvaluationResult(
        bundle=info,
        metrics=metrics,
        items=ItemResults.from_results(items, results),
        checks=tuple(checks),
        scorer_version="property",
        claimed_accuracy=None,
        labels=(),
    )


def _create_evaluation(submission: Submission, result: Any) -> Evaluation:
    """The recorder's row writer, with the per-query file it records (issue 13)."""
    name = store_results(submission.pk, result.items, synthetic=False)
    return _create(submission, result, name)


@pytest.fixture
def submission(alice: Any) -> Submission:
    return Submission.objects.create(
        owner=alice.user, bundle="bundles/property.ipwb", bundle_sha256="0" * 64, bundle_size=1
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    generated=st.lists(rows, min_size=1, max_size=80),
    zeros=st.lists(st.integers(min_value=0, max_value=79), max_size=4),
)
def test_anything_the_engine_accepts_is_recordable(
    submission: Submission, generated: list[tuple[Any, ...]], zeros: list[int]
) -> None:
    result = _result(generated, zeros)
    if result is None:
        return
    savepoint = transaction.savepoint()
    try:
        evaluation = _create_evaluation(submission, result)
        evaluation.refresh_from_db()
        assert math.isfinite(evaluation.ipw) and evaluation.mean_power_w > 0
        assert len(query_rows(evaluation)) == len(generated)
    finally:
        transaction.savepoint_rollback(savepoint)
    assert not Evaluation.objects.filter(submission=submission).exists()


def test_realistic_runs_are_accepted_not_just_rejected(submission: Submission) -> None:
    """The property above is not vacuous: ordinary runs, with a few 0 J rows, pass the guard."""
    rng = np.random.default_rng(0)
    generated = [
        (
            0.0 if i % 25 == 0 else float(rng.uniform(5, 500)),
            float(rng.uniform(0.2, 20)),
            "correct" if i % 3 else "incorrect",
            int(rng.integers(1, 900)),
            0.1,
            "math",
        )
        for i in range(100)
    ]
    result = _result(generated, record=False)
    assert result is not None
    evaluation = _create_evaluation(submission, result)
    assert evaluation.ipw > 0 and evaluation.n_queries == 100
