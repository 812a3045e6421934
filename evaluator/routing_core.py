"""The routing analysis's building blocks (types, per-pair folding, policy figures); the
definitions are in ``evaluator.routing``."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from evaluator.checks.energy import impute_zero_energy
from evaluator.metrics import MetricInputs, bootstrap_intervals

FORMAT_VERSION = 1
LEARN, EVALUATE = 0, 1
SPLIT_RULE = "crc32(query id, UTF-8) even: learn half; odd: evaluate half"
# Stat columns per query, as in evaluator.metrics: scored, correct, energy known, energy,
# power known, power. Per-pair sums of them per (domain, half) are all a domain choice needs.
S_SCORED, S_CORRECT, S_EOK, S_E, S_POK, S_P = range(6)


@dataclass(frozen=True)
class Queries:
    """The queries in dataset order. The ids are used for the split only and not kept (a million
    Python strings would be most of the analysis's memory)."""

    domains: list[str]  # sorted names
    codes: np.ndarray  # uint16[n] into ``domains``
    half: np.ndarray  # uint8[n]: LEARN or EVALUATE

    @classmethod
    def build(cls, ids: Sequence[str], names: Sequence[str], codes: np.ndarray) -> Queries:
        order = sorted(range(len(names)), key=lambda i: names[i])
        remap = np.empty(max(len(names), 1), dtype=np.uint16)
        remap[order] = np.arange(len(order), dtype=np.uint16)
        codes = remap[np.asarray(codes, dtype=np.intp)] if len(codes) else codes.astype(np.uint16)
        half = np.fromiter(
            (zlib.crc32(str(q).encode()) & 1 for q in ids), dtype=np.uint8, count=len(ids)
        )
        return cls([names[i] for i in order], codes.astype(np.uint16), half)

    @property
    def n(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class PairColumns:
    status: np.ndarray  # uint8 codes into evaluator.results.STATUSES (0 correct, 2 unscored)
    energy_j: np.ndarray  # float64, NaN where unknown
    latency_s: np.ndarray


@dataclass(frozen=True)
class Pair:
    key: str
    label: str
    device_class: str
    synthetic: bool = False


@dataclass(frozen=True)
class LocalSet:
    key: str
    label: str
    classes: frozenset[str]


@dataclass
class _Prepared:
    correct: np.ndarray  # bool
    scored: np.ndarray  # bool
    energy: np.ndarray  # float32, NaN unknown
    latency: np.ndarray  # float32


def _prepare(columns: PairColumns) -> _Prepared:
    energy = impute_zero_energy(columns.energy_j, columns.latency_s)
    return _Prepared(
        correct=columns.status == 0,
        scored=columns.status != 2,
        energy=energy.astype(np.float32),
        latency=np.asarray(columns.latency_s, dtype=np.float32),
    )


def _power(energy: np.ndarray, latency: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(latency > 0, energy / latency, np.float32(np.nan)).astype(np.float32)


def _stat_sums(p: _Prepared, key: np.ndarray, width: int) -> np.ndarray:
    """(width, 6) sums of the stat columns per ``key`` (domain * 2 + half)."""
    power = _power(p.energy, p.latency)
    e_ok, p_ok = np.isfinite(p.energy), np.isfinite(power)
    columns = (
        p.scored,
        p.correct & p.scored,
        e_ok,
        np.where(e_ok, p.energy, 0).astype(np.float64),
        p_ok,
        np.where(p_ok, power, 0).astype(np.float64),
    )
    return np.stack([np.bincount(key, weights=c, minlength=width) for c in columns], axis=1)


class _Cheapest:
    """Per query, the lowest energy seen so far (and that query's latency), over some pairs."""

    def __init__(self, n: int) -> None:
        self.energy = np.full(n, np.inf, dtype=np.float32)
        self.latency = np.full(n, np.nan, dtype=np.float32)

    def offer(self, p: _Prepared, where: np.ndarray | None) -> None:
        better = p.energy < self.energy  # NaN energy never wins
        if where is not None:
            better &= where
        self.energy[better] = p.energy[better]
        self.latency[better] = p.latency[better]

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.energy)


class _View:
    """Running per-query state of one local set."""

    def __init__(self, n: int) -> None:
        self.local_correct = np.zeros(n, dtype=bool)
        self.correct_local, self.correct_remote = _Cheapest(n), _Cheapest(n)
        self.any_local, self.any_remote = _Cheapest(n), _Cheapest(n)

    def fold(self, p: _Prepared, local: bool) -> None:
        if local:
            self.local_correct |= p.correct
            self.correct_local.offer(p, p.correct)
            self.any_local.offer(p, None)
        else:
            self.correct_remote.offer(p, p.correct)
            self.any_remote.offer(p, None)


def _prefetched(load: Callable[[int], PairColumns], indices: Sequence[int]):
    """Yield (index, prepared columns), reading the next pair while the caller folds this one
    (pyarrow and numpy release the GIL, so a read overlaps the fold on a second core)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(lambda i: _prepare(load(i)), indices[0]) if indices else None
        for at, i in enumerate(indices):
            current = pending.result()  # type: ignore[union-attr]
            if at + 1 < len(indices):
                pending = pool.submit(lambda j: _prepare(load(j)), indices[at + 1])
            yield i, current


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 and math.isfinite(num) else None


def figures(sums: np.ndarray) -> dict[str, float | int | None]:
    """Point figures from one row of stat sums (the board's definitions)."""
    scored, correct = float(sums[S_SCORED]), float(sums[S_CORRECT])
    accuracy = correct / scored if scored else 0.0
    mean_e, mean_p = _ratio(sums[S_E], sums[S_EOK]), _ratio(sums[S_P], sums[S_POK])
    return {
        "n_scored": int(scored),
        "n_correct": int(correct),
        "accuracy": accuracy,
        "total_energy_j": float(sums[S_E]),
        "mean_energy_j": mean_e,
        "mean_power_w": mean_p,
        "ipw": accuracy / mean_p if mean_p else None,
        "ipj": accuracy / mean_e if mean_e else None,
    }


def _intervals(
    correct: np.ndarray,
    scored: np.ndarray,
    energy: np.ndarray,
    latency: np.ndarray,
    *,
    seed: int,
    resamples: int,
) -> dict[str, list[float | None]]:
    n = len(correct)
    if n == 0:
        return {"accuracy_ci": [None, None], "ipw_ci": [None, None], "ipj_ci": [None, None]}
    nan = np.full(n, np.nan)
    inputs = MetricInputs(correct, scored, energy, latency, nan, nan, [""] * n)
    acc, ipw, ipj = bootstrap_intervals(inputs, seed=seed, resamples=resamples)

    def pair(i: object) -> list[float | None]:
        return [None if not math.isfinite(x) else float(x) for x in (i.low, i.high)]  # type: ignore[attr-defined]

    return {"accuracy_ci": pair(acc), "ipw_ci": pair(ipw), "ipj_ci": pair(ipj)}


def policy_figures(
    correct: np.ndarray,
    scored: np.ndarray,
    energy: np.ndarray,
    latency: np.ndarray,
    local: np.ndarray,
    *,
    seed: int,
    resamples: int,
) -> dict[str, object]:
    """A policy's per-query outcome (the routed pair's) -> its figures and intervals."""
    energy64 = energy.astype(np.float64)
    power = _power(energy, latency).astype(np.float64)
    e_ok, p_ok = np.isfinite(energy64), np.isfinite(power)
    sums = np.array(
        [
            scored.sum(),
            (correct & scored).sum(),
            e_ok.sum(),
            energy64[e_ok].sum(),
            p_ok.sum(),
            power[p_ok].sum(),
        ],
        dtype=np.float64,
    )
    out: dict[str, object] = {"n_queries": len(correct), **figures(sums)}
    out["local_share"] = float(local.mean()) if len(local) else None
    out.update(_intervals(correct, scored, energy64, latency, seed=seed, resamples=resamples))
    return out


def saving(policy_energy: float, baseline_energy: float | None) -> float | None:
    if baseline_energy is None or baseline_energy <= 0:
        return None
    return 1.0 - policy_energy / baseline_energy
