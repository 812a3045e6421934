"""Choosing pairs for the routing analysis from per-pair stat sums (``routing_core.S_*`` columns).

``sums`` arrays are (pairs, domains, 6) for one half of the queries, or (pairs, 6) overall. Ties
are broken the same way everywhere, so a choice never depends on dict or hash order: higher
accuracy, then lower mean energy, then the earlier pair (pairs come sorted by key).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .routing_core import S_CORRECT, S_E, S_EOK, S_SCORED

# Beyond this many partial assignments the Pareto frontier is thinned (evenly, keeping its ends):
# never reached with a board's handful of domains (each step keeps only non-dominated sums), and
# a bound on time and memory if it ever is. Below it the answer is exact.
MAX_FRONTIER = 50_000


def _accuracy(sums: np.ndarray) -> np.ndarray:
    scored = sums[..., S_SCORED]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scored > 0, sums[..., S_CORRECT] / scored, np.nan)


def _mean_energy(sums: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sums[..., S_EOK] > 0, sums[..., S_E] / sums[..., S_EOK], np.nan)


def strongest(sums: np.ndarray, among: Sequence[int]) -> int | None:
    """The most accurate pair of ``among`` (ties: lower mean energy, then the earlier pair)."""
    if not len(among):
        return None
    acc = np.nan_to_num(_accuracy(sums[list(among)]), nan=-1.0)
    energy = np.nan_to_num(_mean_energy(sums[list(among)]), nan=np.inf)
    best = np.lexsort((np.arange(len(among)), energy, -acc))[0]
    return int(among[best])


def by_domain(sums: np.ndarray, floor_points: float) -> list[int]:
    """Per domain: the best-IPJ pair among those at most ``floor_points`` below the domain's best
    accuracy (ties: higher accuracy, lower mean energy, earlier pair). A domain nobody scored on
    goes to the strongest pair overall."""
    pairs, domains = sums.shape[0], sums.shape[1]
    overall = strongest(sums.sum(axis=1), range(pairs))
    chosen: list[int] = []
    for d in range(domains):
        acc, energy = _accuracy(sums[:, d]), _mean_energy(sums[:, d])
        if not np.isfinite(acc).any():
            chosen.append(int(overall))  # type: ignore[arg-type]
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ipj = np.where(energy > 0, acc / energy, np.nan)
        # A small tolerance so a pair exactly at the floor is not lost to rounding.
        eligible = (acc >= np.nanmax(acc) - floor_points / 100.0 - 1e-12) & np.isfinite(ipj)
        if not eligible.any():
            eligible = np.isfinite(acc)
            ipj = np.where(eligible, np.nan_to_num(ipj, nan=0.0), np.nan)
        idx = np.flatnonzero(eligible)
        order = np.lexsort((idx, np.nan_to_num(energy[idx], nan=np.inf), -acc[idx], -ipj[idx]))
        chosen.append(int(idx[order[0]]))
    return chosen


def _pareto(value: np.ndarray, energy: np.ndarray, tie: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats (value at least as high, energy lower), one per
    (value, energy) tie: the earliest by ``tie``."""
    order = np.lexsort((tie, energy, -value))
    e_sorted = energy[order]
    previous_min = np.minimum.accumulate(np.r_[np.inf, e_sorted[:-1]])
    return order[e_sorted < previous_min]


def cheapest_assignment(sums: np.ndarray, target_accuracy: float) -> list[int]:
    """One pair per domain with the lowest total energy whose accuracy (correct / scored over all
    domains) is at least ``target_accuracy``.

    Accuracy >= target is the linear constraint sum_d (correct_d - target * scored_d) >= 0, so
    this is a multiple-choice knapsack, solved exactly by a dynamic programme over the Pareto
    frontier of (value, energy) sums, domain by domain, dropping partial sums that can no longer
    reach the target. The strongest pair alone meets any target at or below its accuracy, so the
    answer exists whenever the target is at most the best accuracy."""
    pairs, domains = sums.shape[0], sums.shape[1]
    value = sums[..., S_CORRECT] - target_accuracy * sums[..., S_SCORED]  # (pairs, domains)
    energy = sums[..., S_E]
    eps = 1e-9 * max(1.0, float(sums[..., S_SCORED].sum(axis=1).max(initial=0)))
    # The best value still reachable from domain d on: a partial sum below -that cannot finish.
    reach = np.r_[np.cumsum(value.max(axis=0)[::-1])[::-1], 0.0]
    total_v, total_e = np.zeros(1), np.zeros(1)
    steps: list[tuple[np.ndarray, np.ndarray]] = []
    for d in range(domains):
        options = _pareto(value[:, d], energy[:, d], np.arange(pairs))
        v = (total_v[:, None] + value[options, d][None, :]).ravel()
        e = (total_e[:, None] + energy[options, d][None, :]).ravel()
        parent = np.repeat(np.arange(len(total_v)), len(options))
        option = np.tile(options, len(total_v))
        alive = np.flatnonzero(v + reach[d + 1] >= -eps)
        keep = alive[_pareto(v[alive], e[alive], np.arange(len(alive)))]
        if len(keep) > MAX_FRONTIER:
            keep = keep[np.unique(np.linspace(0, len(keep) - 1, MAX_FRONTIER).astype(int))]
        steps.append((parent[keep], option[keep]))
        total_v, total_e = v[keep], e[keep]
    feasible = np.flatnonzero(total_v >= -eps)
    if not len(feasible):
        raise ValueError(f"no assignment reaches accuracy {target_accuracy}")
    at = int(feasible[np.lexsort((feasible, -total_v[feasible], total_e[feasible]))[0]])
    chosen = [0] * domains
    for d in range(domains - 1, -1, -1):
        parent, option = steps[d]
        chosen[d] = int(option[at])
        at = int(parent[at])
    return chosen
