"""Server-side metrics: accuracy, IPW, IPJ and friends, with seeded bootstrap confidence intervals.

Definitions (design guide section 3, the reference harness's):

- accuracy ``a`` = correct / scored. With zero scored queries ``a`` is 0.0 (and its interval is
  [0, 0]); the engine labels such results "unscored-items", the number alone cannot say why.
- per query: ``P_q = E_q / t_q``. ``mean_power_w`` = mean of ``P_q``, ``mean_energy_j`` = mean of
  ``E_q``, both over the queries whose energy is known (NaN energies are excluded; the engine rejects
  bundles with missing energy anyway) and, for power, whose latency is positive. A query that
  read exactly 0 J counts as the run's mean power times its latency (the zero-energy rule,
  ``evaluator.checks.energy.impute_zero_energy``, applied here and nowhere else).
- **IPW** = ``a / mean_power_w``, **IPJ** = ``a / mean_energy_j``. NaN when the denominator is 0 or
  unknown (nothing to divide by is not "infinitely efficient").
- energy per 1k output tokens and throughput use the queries whose token count is known.
- per-query means (``MEAN_COLUMNS``, ``query_means``): the plain mean of a per-query column (input,
  output and reasoning tokens, phase and rail energies, utilisation, agentic turns and tool calls)
  over the queries that report it, None when none does; reasoning tokens only when every query
  reports them (see ``query_means``). Raw values: the zero-energy imputation is for ``energy_j``.

Confidence intervals (95 %, percentile, over queries): every statistic above is a ratio of sums over
queries, so a resample only needs six sums. Resampling draws query *counts* and multiplies them into
an (n x 6) matrix. Up to ``EXACT_WORK`` query draws in total the classic bootstrap is used (n
draws per resample, counts by ``bincount``). Beyond that (1,000,000 queries x 1,000 resamples would
be 10^9 draws, ~15 s here) the Bag of Little Bootstraps (Kleiner, Talwalkar, Sarkar & Jordan, JRSS-B
2014) is used: ``s`` disjoint random subsets of ``b = n^0.7`` queries, each resampled to full size
``n`` with multinomial counts over its ``b`` queries, percentile intervals per subset, averaged. It
has the bootstrap's accuracy at a fraction of the cost. Intervals are widened if needed so that they
always contain the point estimate (a percentile interval need not, on tiny or skewed samples).
Everything draws from one ``numpy.random.Generator(seed)`` in a fixed order: same inputs, same seed,
same intervals, on any machine.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from evaluator.checks.energy import impute_zero_energy
from evaluator.types import DomainMetrics, Interval, ItemResult, Metrics

EXACT_WORK = 50_000_000  # n * resamples up to which the classic bootstrap runs
BLB_GAMMA = 0.7
BLB_SUBSETS = 10
_CHUNK_DRAWS = 2_000_000  # query draws materialised at once by the classic bootstrap

# Columns of the per-query statistics matrix.
_SCORED, _CORRECT, _E_OK, _E, _P_OK, _P = range(6)

# The evaluation's per-query means, declared once: ``Evaluation`` field -> the per-query column it
# averages. The engine computes them (``query_means``), the recorder stores them by iterating
# ``Metrics.means``, and the backfill migration calls the same function on a per-query file. Every
# column but output_tokens is an optional one (``evaluator.results.EXTRA_COLUMNS``), carried in
# ``MetricInputs.extra`` when the run reports it.
MEAN_COLUMNS: Mapping[str, str] = {
    "mean_input_tokens": "input_tokens",
    "mean_output_tokens": "output_tokens",
    "mean_reasoning_tokens": "reasoning_tokens",
    "mean_prefill_energy_j": "prefill_energy_j",
    "mean_decode_energy_j": "decode_energy_j",
    "mean_prefill_s": "prefill_s",
    "mean_decode_s": "decode_s",
    "mean_cpu_energy_j": "cpu_energy_j",
    "mean_ane_energy_j": "ane_energy_j",
    "mean_gpu_utilization_pct": "gpu_utilization_pct",
    "mean_turns": "turns",
    "mean_tool_calls": "tool_calls",
    "mean_tool_s": "tool_s",
}
# Columns whose mean exists only when every query reports them (see ``query_means``).
_ALL_OR_NOTHING = frozenset({"reasoning_tokens"})


@dataclass(frozen=True)
class MetricInputs:
    correct: np.ndarray  # bool[n]; only counts where scored
    scored: np.ndarray  # bool[n]
    energy_j: np.ndarray  # float64[n], NaN where missing
    latency_s: np.ndarray  # float64[n]
    ttft_s: np.ndarray  # float64[n], NaN where missing
    output_tokens: np.ndarray  # float64[n], NaN where missing
    domains: list[str]
    # Optional per-query columns by name (MEAN_COLUMNS' values), float64[n], NaN where missing;
    # a column the run does not report is absent.
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.domains)
        casts = {
            "correct": bool,
            "scored": bool,
            "energy_j": np.float64,
            "latency_s": np.float64,
            "ttft_s": np.float64,
            "output_tokens": np.float64,
        }
        for name, dtype in casts.items():
            array = np.asarray(getattr(self, name), dtype=dtype)
            if array.shape != (n,):
                raise ValueError(f"{name} has shape {array.shape}, expected ({n},)")
            object.__setattr__(self, name, array)
        extra = {name: np.asarray(values, dtype=np.float64) for name, values in self.extra.items()}
        for name, array in extra.items():
            if array.shape != (n,):
                raise ValueError(f"extra column {name} has shape {array.shape}, expected ({n},)")
        object.__setattr__(self, "extra", extra)

    @property
    def n(self) -> int:
        return len(self.domains)

    @classmethod
    def from_items(cls, items: Iterable[ItemResult]) -> MetricInputs:
        rows = list(items)

        def opt(value: float | int | None) -> float:
            return math.nan if value is None else float(value)

        return cls(
            correct=np.array([r.status == "correct" for r in rows], dtype=bool),
            scored=np.array([r.status != "unscored" for r in rows], dtype=bool),
            energy_j=np.array([opt(r.energy_j) for r in rows], dtype=np.float64),
            latency_s=np.array([r.latency_s for r in rows], dtype=np.float64),
            ttft_s=np.array([opt(r.ttft_s) for r in rows], dtype=np.float64),
            output_tokens=np.array([opt(r.output_tokens) for r in rows], dtype=np.float64),
            domains=[r.domain for r in rows],
            extra={
                column: np.array([opt(getattr(r, column)) for r in rows], dtype=np.float64)
                for column in MEAN_COLUMNS.values()
                if column != "output_tokens" and any(getattr(r, column) is not None for r in rows)
            },
        )


def _energy(inputs: MetricInputs) -> np.ndarray:
    """The energies every metric uses: the raw ones with 0 J rows imputed (one rule)."""
    return impute_zero_energy(inputs.energy_j, inputs.latency_s)


def _stat_matrix(inputs: MetricInputs, energy: np.ndarray | None = None) -> np.ndarray:
    n = inputs.n
    scored = inputs.scored
    energy = _energy(inputs) if energy is None else energy
    latency = inputs.latency_s
    e_ok = np.isfinite(energy)
    with np.errstate(divide="ignore", invalid="ignore"):
        power = np.where(e_ok & (latency > 0), energy / latency, np.nan)
    p_ok = np.isfinite(power)
    matrix = np.zeros((n, 6), dtype=np.float64)
    matrix[:, _SCORED] = scored
    matrix[:, _CORRECT] = inputs.correct & scored
    matrix[:, _E_OK] = e_ok
    matrix[:, _E] = np.where(e_ok, energy, 0.0)
    matrix[:, _P_OK] = p_ok
    matrix[:, _P] = np.where(p_ok, power, 0.0)
    return matrix


def _ratios(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(accuracy, ipw, ipj) for each row of column sums (any leading shape)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        acc = np.where(sums[..., _SCORED] > 0, sums[..., _CORRECT] / sums[..., _SCORED], 0.0)
        mean_p = sums[..., _P] / sums[..., _P_OK]
        mean_e = sums[..., _E] / sums[..., _E_OK]
        ipw = np.where(mean_p > 0, acc / mean_p, np.nan)
        ipj = np.where(mean_e > 0, acc / mean_e, np.nan)
    return acc, ipw, ipj


def _percentiles(samples: np.ndarray) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return math.nan, math.nan
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def _classic(matrix: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    n = matrix.shape[0]
    per_chunk = max(1, _CHUNK_DRAWS // n)
    out = np.empty((resamples, matrix.shape[1]))
    for start in range(0, resamples, per_chunk):
        k = min(per_chunk, resamples - start)
        idx = rng.integers(0, n, size=(k, n))
        idx += np.arange(k)[:, None] * n  # one bincount for k resamples
        counts = np.bincount(idx.ravel(), minlength=k * n).reshape(k, n)
        out[start : start + k] = counts @ matrix
    return out


def _blb_intervals(
    matrix: np.ndarray, rng: np.random.Generator, resamples: int
) -> list[tuple[float, float]]:
    n = matrix.shape[0]
    b = max(2, int(n**BLB_GAMMA))
    subsets = max(1, min(BLB_SUBSETS, n // b))
    per_subset = max(20, math.ceil(resamples / subsets))
    order = rng.permutation(n)
    offsets = np.zeros((subsets, 3, 2))
    uniform = np.full(b, 1.0 / b)
    for j in range(subsets):
        sub = matrix[order[j * b : (j + 1) * b]]
        centre = _ratios(sub.sum(axis=0))
        counts = rng.multinomial(n, uniform, size=per_subset).astype(np.float64)
        for k, stat in enumerate(_ratios(counts @ sub)):
            # Each subset estimates the *shape* of the sampling distribution (quantiles of
            # theta* - theta_subset); its centre is noisy (b << n), so the averaged offsets are
            # applied to the full-data estimate.
            low, high = _percentiles(stat - centre[k])
            offsets[j, k] = (low, high)
    return [
        (float(np.nanmean(offsets[:, k, 0])), float(np.nanmean(offsets[:, k, 1])))
        if np.isfinite(offsets[:, k]).any()
        else (math.nan, math.nan)
        for k in range(3)
    ]


def bootstrap_intervals(
    inputs: MetricInputs, *, seed: int = 0, resamples: int = 1000
) -> tuple[Interval, Interval, Interval]:
    """95 % intervals for (accuracy, IPW, IPJ); see the module docstring for the method."""
    return _bootstrap(_stat_matrix(inputs), seed=seed, resamples=resamples)


def _bootstrap(
    matrix: np.ndarray, *, seed: int, resamples: int
) -> tuple[Interval, Interval, Interval]:
    point = _ratios(matrix.sum(axis=0))
    rng = np.random.default_rng(seed)
    n = matrix.shape[0]
    if n * resamples <= EXACT_WORK:
        stats = _ratios(_classic(matrix, rng, resamples))
        raw = [_percentiles(s) for s in stats]
    else:
        raw = [
            (float(est) + low, float(est) + high)
            for est, (low, high) in zip(point, _blb_intervals(matrix, rng, resamples), strict=True)
        ]
    intervals = []
    for (low, high), estimate in zip(raw, point, strict=True):
        est = float(estimate)
        if math.isfinite(est):
            low = est if not math.isfinite(low) else min(low, est)
            high = est if not math.isfinite(high) else max(high, est)
        intervals.append(Interval(low, high))
    return intervals[0], intervals[1], intervals[2]


def _pct(values: np.ndarray, q: float) -> float | None:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, q)) if finite.size else None


def _per_domain(inputs: MetricInputs, matrix: np.ndarray) -> dict[str, DomainMetrics]:
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(d, len(index)) for d in inputs.domains), dtype=np.intp, count=inputs.n
    )
    width = len(index)
    sums = np.stack(
        [np.bincount(codes, weights=matrix[:, c], minlength=width) for c in range(6)], axis=1
    )
    counts = np.bincount(codes, minlength=width)
    result: dict[str, DomainMetrics] = {}
    for name in sorted(index):
        i = index[name]
        row = sums[i]
        result[name] = DomainMetrics(
            n_queries=int(counts[i]),
            n_scored=int(row[_SCORED]),
            accuracy=float(row[_CORRECT] / row[_SCORED]) if row[_SCORED] else None,
            mean_energy_j=float(row[_E] / row[_E_OK]) if row[_E_OK] else None,
            mean_power_w=float(row[_P] / row[_P_OK]) if row[_P_OK] else None,
        )
    return result


def query_means(inputs: MetricInputs) -> dict[str, float | None]:
    """``MEAN_COLUMNS``' means: each column's mean over the queries that report it (NaN is "not
    reported" and left out), None when no query does.

    Reasoning tokens are all or nothing: their mean is None unless every query reports them. A
    missing count is not a zero (the run could not tell reasoning from answer for that query), and
    the queries that do report it are not a random sample (a harness that finds reasoning by its
    thinking block reports it where there was a block), so a mean over the reporters would
    overstate the run's reasoning per query, the x-axis of the board's IPW-versus-reasoning chart.
    Every query, not every scored query: the count describes the generation, which judging does
    not change, so the mean is the same before and after the open-ended items are judged. The
    other columns are measurements of their own (a rail or a phase metered for some queries): the
    mean of what was measured is what it says.
    """
    unreported = np.full(inputs.n, np.nan)
    means: dict[str, float | None] = {}
    for name, column in MEAN_COLUMNS.items():
        values = inputs.output_tokens if column == "output_tokens" else inputs.extra.get(column)
        values = unreported if values is None else values
        known = np.isfinite(values)
        complete = bool(known.all()) or column not in _ALL_OR_NOTHING
        means[name] = float(values[known].mean()) if known.any() and complete else None
    return means


def compute_metrics(inputs: MetricInputs, *, seed: int = 0, resamples: int = 1000) -> Metrics:
    """All board metrics for one evaluation. ``n`` must be at least 1."""
    n = inputs.n
    if n == 0:
        raise ValueError("compute_metrics needs at least one query")
    if resamples < 1:
        raise ValueError("resamples must be positive")
    energy = _energy(inputs)
    matrix = _stat_matrix(inputs, energy)
    totals = matrix.sum(axis=0)
    accuracy, ipw, ipj = (float(x) for x in _ratios(totals))
    acc_ci, ipw_ci, ipj_ci = _bootstrap(matrix, seed=seed, resamples=resamples)

    tokens = inputs.output_tokens
    e_ok = np.isfinite(energy)
    t_ok = np.isfinite(tokens)
    both = e_ok & t_ok
    token_total = float(tokens[both].sum())
    latency_with_tokens = float(inputs.latency_s[t_ok].sum())
    return Metrics(
        n_queries=n,
        n_scored=int(totals[_SCORED]),
        n_correct=int(totals[_CORRECT]),
        accuracy=accuracy,
        accuracy_ci=acc_ci,
        mean_power_w=float(totals[_P] / totals[_P_OK]) if totals[_P_OK] else math.nan,
        mean_energy_j=float(totals[_E] / totals[_E_OK]) if totals[_E_OK] else math.nan,
        ipw=ipw,
        ipw_ci=ipw_ci,
        ipj=ipj,
        ipj_ci=ipj_ci,
        total_energy_j=float(totals[_E]),
        energy_per_1k_output_tokens_j=(
            float(energy[both].sum() / token_total * 1000.0) if token_total > 0 else None
        ),
        throughput_tok_s=(
            float(tokens[t_ok].sum() / latency_with_tokens)
            if t_ok.any() and latency_with_tokens > 0
            else None
        ),
        ttft_p50_s=_pct(inputs.ttft_s, 50),
        ttft_p95_s=_pct(inputs.ttft_s, 95),
        latency_p50_s=float(np.percentile(inputs.latency_s, 50)),
        latency_p95_s=float(np.percentile(inputs.latency_s, 95)),
        per_domain=_per_domain(inputs, matrix),
        means=query_means(inputs),
    )


__all__ = ["MEAN_COLUMNS", "MetricInputs", "bootstrap_intervals", "compute_metrics", "query_means"]
