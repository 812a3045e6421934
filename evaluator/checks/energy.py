"""Zero-energy queries: one rule for the checks (how many may read 0 J) and the metrics (what they
count as). Stated for submitters in docs/bundle-format.md, "Zero-energy rows".

Why a query can read 0 J: the reference harness charges a query the difference of a cumulative
energy counter read when it starts and ends. The counter moves in steps of the sampling period
(macOS ``powermetrics`` and polled NVML power integrate once per period), so a query shorter than
one step, or one that falls between two steps, can read exactly 0 J. That is a measurement artefact,
not a free query: counting it as 0 J would lower the mean power and inflate IPW (119 zero rows and
one real row gave an IPW 100x too high), and a run of nothing but zeros has no IPW at all.

The rule:

- At most ``ZERO_ENERGY_MAX_SHARE`` (5 %) of a run's queries may read ``energy_j == 0``; beyond
  that the bundle is rejected with ``bundle.queries.energy_zero``. Why 5 %: the artefact needs a
  query shorter than one sampling step, which on the reference runs (median latency of seconds,
  steps of 50 ms to 1 s) is the exception, not the rule (the H100 fixture run has none); and at
  5 % an imputation that is off by a factor of two moves the run's mean power by at most ~5 %,
  inside the bootstrap interval of a typical run. More zeros than that means the meter did not
  measure the run, and no number we could compute from it would be honest.
- Each zero row within the share counts, for every metric, as the run's mean power over its
  non-zero rows times the query's own latency (``P_bar * t_q``; ``P_bar`` = mean of ``E_q / t_q``
  over the rows with ``E_q > 0``), which is how the harness's ``ipw analyze`` imputes zero or
  negative energy. Negative energy never gets here (``bundle.queries.energy_negative``).
- The per-query data keeps the raw 0 J; the result carries a ``queries.energy_zero`` check saying
  how many rows were imputed and the visible label ``energy-imputed``.

``impute_zero_energy`` is the only place the imputation is written; ``evaluator.metrics`` calls it.
"""

from __future__ import annotations

import numpy as np

from evaluator.bundle.tables import QueryColumns
from evaluator.errors import BundleError, register
from evaluator.types import Check

QUERIES = "queries.parquet"
ZERO_ENERGY_MAX_SHARE = 0.05
IMPUTED_LABEL = "energy-imputed"
CHECK_CODE = "queries.energy_zero"
ENERGY_ZERO = register(
    "bundle.queries.energy_zero",
    "More than 5% of the queries read energy_j = 0: the meter did not measure the run.",
)


def zero_rows(energy: np.ndarray) -> np.ndarray:
    """Rows whose energy reads exactly 0 J (NaN is 'missing', a different rule)."""
    return np.asarray(energy, dtype=np.float64) == 0.0


def allowed_zero_rows(n: int) -> int:
    """How many of ``n`` queries may read 0 J (5 %, rounded down)."""
    return int(n * ZERO_ENERGY_MAX_SHARE)


def check_zero_energy(queries: QueryColumns) -> list[Check]:
    """Reject a run with more zero-energy rows than the share allows; count the others."""
    energy = queries["energy_j"]
    zeros = zero_rows(energy)
    count, n = int(zeros.sum()), len(energy)
    if count == 0:
        return []
    if count > allowed_zero_rows(n):
        row = int(np.flatnonzero(zeros)[0])
        raise BundleError(
            ENERGY_ZERO,
            f"{count} of {n} queries read energy_j = 0 (first {queries.ids[row]!r} at row {row}); "
            f"at most {ZERO_ENERGY_MAX_SHARE:.0%} ({allowed_zero_rows(n)}) may: a 0 J reading is "
            "a short query between two steps of the energy counter, and a run with more of them "
            "was not metered. Re-run with a working energy monitor (or a shorter sampling period).",
            file=QUERIES,
            row=row,
            field="energy_j",
        )
    return [
        Check(
            CHECK_CODE,
            "pass",
            f"{count} of {n} queries read 0 J (allowed: {allowed_zero_rows(n)}); the metrics count "
            "each as the run's mean power over its non-zero queries times the query's latency",
            file=QUERIES,
            field="energy_j",
        )
    ]


def impute_zero_energy(energy: np.ndarray, latency: np.ndarray) -> np.ndarray:
    """``energy`` with each 0 J row replaced by ``P_bar * latency`` (see the module docstring).

    Returns ``energy`` itself when nothing is imputed. With no non-zero row there is nothing to
    impute from and the zeros stay (the engine rejects such runs before metrics are computed).
    """
    energy = np.asarray(energy, dtype=np.float64)
    latency = np.asarray(latency, dtype=np.float64)
    zeros = zero_rows(energy)
    if not zeros.any():
        return energy
    measured = (energy > 0) & np.isfinite(energy) & (latency > 0)
    if not measured.any():
        return energy
    mean_power = float(np.mean(energy[measured] / latency[measured]))
    return np.where(zeros, mean_power * latency, energy)
