"""Metrics: hand-computed values, edge cases, and bootstrap properties (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator import metrics as metrics_module
from evaluator.metrics import MetricInputs, bootstrap_intervals, compute_metrics
from evaluator.types import ItemResult


def make_inputs(
    correct: list[bool],
    energy: list[float],
    latency: list[float],
    *,
    scored: list[bool] | None = None,
    ttft: list[float] | None = None,
    tokens: list[float] | None = None,
    domains: list[str] | None = None,
) -> MetricInputs:
    n = len(correct)
    return MetricInputs(
        correct=np.array(correct),
        scored=np.array(scored if scored is not None else [True] * n),
        energy_j=np.array(energy, dtype=float),
        latency_s=np.array(latency, dtype=float),
        ttft_s=np.array(ttft if ttft is not None else [math.nan] * n, dtype=float),
        output_tokens=np.array(tokens if tokens is not None else [math.nan] * n, dtype=float),
        domains=domains if domains is not None else ["d"] * n,
    )


def random_inputs(n: int, seed: int, p: float = 0.6) -> MetricInputs:
    rng = np.random.default_rng(seed)
    latency = rng.uniform(0.5, 5.0, n)
    return MetricInputs(
        correct=rng.random(n) < p,
        scored=np.ones(n, dtype=bool),
        energy_j=latency * rng.uniform(100, 300, n),
        latency_s=latency,
        ttft_s=rng.uniform(0.05, 0.3, n),
        output_tokens=rng.integers(10, 500, n).astype(float),
        domains=["a", "b"] * (n // 2) + ["a"] * (n % 2),
    )


def test_hand_computed_values() -> None:
    inputs = make_inputs(
        correct=[True, False, True, False],
        scored=[True, True, True, False],
        energy=[100.0, 200.0, 300.0, 400.0],
        latency=[1.0, 2.0, 3.0, 8.0],
        ttft=[0.1, 0.2, math.nan, 0.4],
        tokens=[10, 20, 30, math.nan],
        domains=["math", "math", "chat", "chat"],
    )
    m = compute_metrics(inputs, seed=1, resamples=200)
    assert (m.n_queries, m.n_scored, m.n_correct) == (4, 3, 2)
    assert m.accuracy == pytest.approx(2 / 3)
    # P_q = 100, 100, 100, 50 W -> mean 87.5 W; it is NOT total energy / total time (1000/14).
    assert m.mean_power_w == pytest.approx(87.5)
    assert m.mean_energy_j == pytest.approx(250.0)
    assert m.ipw == pytest.approx((2 / 3) / 87.5)
    assert m.ipj == pytest.approx((2 / 3) / 250.0)
    assert m.total_energy_j == pytest.approx(1000.0)
    assert m.energy_per_1k_output_tokens_j == pytest.approx(600.0 / 60 * 1000)
    assert m.throughput_tok_s == pytest.approx(60 / 6.0)
    assert m.ttft_p50_s == pytest.approx(0.2)
    assert m.latency_p50_s == pytest.approx(2.5)
    assert m.latency_p95_s == pytest.approx(np.percentile([1, 2, 3, 8], 95))
    assert set(m.per_domain) == {"math", "chat"}
    math_d, chat_d = m.per_domain["math"], m.per_domain["chat"]
    assert (math_d.n_queries, math_d.n_scored, math_d.accuracy) == (2, 2, 0.5)
    assert math_d.mean_energy_j == pytest.approx(150.0)
    assert math_d.mean_power_w == pytest.approx(100.0)
    assert (chat_d.n_queries, chat_d.n_scored, chat_d.accuracy) == (2, 1, 1.0)
    assert chat_d.mean_power_w == pytest.approx(75.0)


def test_zero_scored_items() -> None:
    inputs = make_inputs([False, False], [10.0, 20.0], [1.0, 1.0], scored=[False, False])
    m = compute_metrics(inputs, resamples=50)
    assert (m.accuracy, m.ipw, m.ipj, m.n_scored) == (0.0, 0.0, 0.0, 0)
    assert (m.accuracy_ci.low, m.accuracy_ci.high) == (0.0, 0.0)
    assert m.per_domain["d"].accuracy is None
    assert m.ttft_p50_s is None and m.throughput_tok_s is None
    assert m.energy_per_1k_output_tokens_j is None


def test_nan_energy_is_excluded_from_energy_means() -> None:
    inputs = make_inputs([True, True, False], [100.0, math.nan, 300.0], [1.0, 1.0, 3.0])
    m = compute_metrics(inputs, resamples=50)
    assert m.mean_energy_j == pytest.approx(200.0)
    assert m.mean_power_w == pytest.approx(100.0)
    assert m.total_energy_j == pytest.approx(400.0)
    assert m.accuracy == pytest.approx(2 / 3)


def test_zero_energy_gives_nan_efficiency_not_infinity() -> None:
    m = compute_metrics(make_inputs([True], [0.0], [1.0]), resamples=20)
    assert math.isnan(m.ipw) and math.isnan(m.ipj)


def test_input_validation() -> None:
    with pytest.raises(ValueError):
        compute_metrics(make_inputs([], [], []))
    with pytest.raises(ValueError):
        MetricInputs(
            correct=np.array([True]),
            scored=np.array([True, True]),
            energy_j=np.array([1.0]),
            latency_s=np.array([1.0]),
            ttft_s=np.array([1.0]),
            output_tokens=np.array([1.0]),
            domains=["d"],
        )


def test_from_items() -> None:
    rows = [
        ItemResult("a", "d", "letter_match", "correct", "A", "", 10.0, 1.0, None, 5),
        ItemResult("b", "d", "llm_judge", "unscored", None, "", 20.0, 2.0, 0.1, None),
    ]
    inputs = MetricInputs.from_items(rows)
    assert inputs.scored.tolist() == [True, False]
    assert math.isnan(inputs.ttft_s[0]) and math.isnan(inputs.output_tokens[1])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    p=st.floats(min_value=0.0, max_value=1.0),
)
def test_interval_contains_point_estimate(n: int, seed: int, p: float) -> None:
    inputs = random_inputs(n, seed, p)
    m = compute_metrics(inputs, seed=seed, resamples=200)
    for value, ci in ((m.accuracy, m.accuracy_ci), (m.ipw, m.ipw_ci), (m.ipj, m.ipj_ci)):
        assert ci.low <= value <= ci.high


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), resamples=st.integers(10, 300))
def test_seeded_bootstrap_is_reproducible(seed: int, resamples: int) -> None:
    inputs = random_inputs(150, seed)
    first = bootstrap_intervals(inputs, seed=seed, resamples=resamples)
    assert first == bootstrap_intervals(inputs, seed=seed, resamples=resamples)
    assert first != bootstrap_intervals(inputs, seed=seed + 1, resamples=resamples)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_interval_narrows_with_more_queries(seed: int) -> None:
    small = compute_metrics(random_inputs(100, seed), seed=seed, resamples=400)
    large = compute_metrics(random_inputs(10_000, seed), seed=seed, resamples=400)
    for a, b in ((small.accuracy_ci, large.accuracy_ci), (small.ipw_ci, large.ipw_ci)):
        assert (b.high - b.low) < (a.high - a.low)


def test_large_n_path_agrees_with_classic_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = random_inputs(40_000, 7)
    classic = bootstrap_intervals(inputs, seed=3, resamples=400)
    monkeypatch.setattr(metrics_module, "EXACT_WORK", 0)  # force the Bag of Little Bootstraps
    blb = bootstrap_intervals(inputs, seed=3, resamples=400)
    for c, b in zip(classic, blb, strict=True):
        width = c.high - c.low
        assert b.high - b.low == pytest.approx(width, rel=0.2)
        assert b.low == pytest.approx(c.low, abs=0.2 * width)


def test_accuracy_interval_matches_binomial_theory() -> None:
    n, p = 20_000, 0.7
    inputs = random_inputs(n, 11, p)
    m = compute_metrics(inputs, seed=0, resamples=1000)
    expected_half_width = 1.96 * math.sqrt(m.accuracy * (1 - m.accuracy) / n)
    assert (m.accuracy_ci.high - m.accuracy_ci.low) / 2 == pytest.approx(
        expected_half_width, rel=0.1
    )


# -- per-query means (MEAN_COLUMNS) ----------------------------------------------------------------


def test_means_of_absent_columns_are_none_and_output_tokens_always_counts() -> None:
    inputs = make_inputs([True, False], [10.0, 20.0], [1.0, 2.0], tokens=[10, math.nan])
    means = compute_metrics(inputs, resamples=10).means
    assert set(means) == set(metrics_module.MEAN_COLUMNS)
    assert means["mean_output_tokens"] == 10.0  # the query without a count is left out
    assert all(v is None for k, v in means.items() if k != "mean_output_tokens")


def test_means_skip_missing_values_and_reasoning_is_all_or_nothing() -> None:
    base = make_inputs([True] * 4, [10.0, 20.0, 30.0, 0.0], [1.0] * 4)
    nan = math.nan
    extra = {
        "input_tokens": [40, 50, nan, 70],
        "prefill_energy_j": [1.0, nan, nan, 3.0],
        "cpu_energy_j": [nan] * 4,  # the column is there, no query reports it
        "reasoning_tokens": [5, 7, nan, 9],
        "turns": [1, 2, 3, 4],
    }
    inputs = MetricInputs(**{**vars(base), "extra": {k: np.array(v) for k, v in extra.items()}})
    means = metrics_module.query_means(inputs)
    assert means["mean_input_tokens"] == pytest.approx(160 / 3)
    assert means["mean_prefill_energy_j"] == pytest.approx(2.0)
    assert means["mean_cpu_energy_j"] is None and means["mean_tool_s"] is None
    assert means["mean_turns"] == 2.5
    # One query without its reasoning count: no mean (a missing count is not a zero).
    assert means["mean_reasoning_tokens"] is None
    extra["reasoning_tokens"] = [5, 7, 0, 9]
    inputs = MetricInputs(**{**vars(base), "extra": {k: np.array(v) for k, v in extra.items()}})
    assert metrics_module.query_means(inputs)["mean_reasoning_tokens"] == 5.25
    # The means are the raw columns: the 0 J row is imputed for energy_j only.
    assert compute_metrics(inputs, resamples=10).means == metrics_module.query_means(inputs)


def test_means_when_every_column_is_reported() -> None:
    n = 3
    extra = {
        column: np.arange(1.0, n + 1) * (k + 1)
        for k, column in enumerate(metrics_module.MEAN_COLUMNS.values())
        if column != "output_tokens"
    }
    inputs = MetricInputs(
        **{**vars(make_inputs([True] * n, [1.0] * n, [1.0] * n, tokens=[4, 5, 6])), "extra": extra}
    )
    means = metrics_module.query_means(inputs)
    assert means["mean_output_tokens"] == 5.0
    for field, column in metrics_module.MEAN_COLUMNS.items():
        if column != "output_tokens":
            assert means[field] == pytest.approx(float(extra[column].mean())), field
    with pytest.raises(ValueError, match="extra column turns"):
        MetricInputs(**{**vars(inputs), "extra": {"turns": np.ones(n + 1)}})


def test_from_items_carries_the_optional_columns() -> None:
    rows = [
        ItemResult("a", "d", "m", "correct", "A", "", 10.0, 1.0, None, 5, reasoning_tokens=2),
        ItemResult("b", "d", "m", "correct", "A", "", 10.0, 1.0, None, 7, reasoning_tokens=4),
    ]
    inputs = MetricInputs.from_items(rows)
    assert set(inputs.extra) == {"reasoning_tokens"}  # columns nobody reports are absent
    assert metrics_module.query_means(inputs)["mean_reasoning_tokens"] == 3.0


def test_mean_columns_are_per_query_columns_and_evaluation_fields() -> None:
    from evaluator.results import EXTRA_COLUMNS

    for field, column in metrics_module.MEAN_COLUMNS.items():
        assert column == "output_tokens" or column in EXTRA_COLUMNS
        assert field == f"mean_{column}"
