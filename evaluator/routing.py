"""What could run locally? Coverage and routing over the ranked pairs of one dataset version and one
measurement class (never across classes: the caller picks both).

Inputs: the queries (ids and domains, in dataset order) and, for each of N pairs, its per-query
status, energy and latency aligned with them (``routing_io`` reads these from per-query files). Each
pair has a device class; a *local set* (the reader's choice of device classes that count as local)
tags each pair local or not. Every local set is analysed in the same pass over the pairs.

Definitions (the board's metrics, ``evaluator.metrics``: accuracy = correct / scored, mean power =
mean over queries of E_q / t_q, IPW = accuracy / mean power, IPJ = accuracy / mean energy; zero-energy
rows imputed per pair by the one rule ``impute_zero_energy``):

- **coverage**: among the *scorable* queries (scored by at least one pair), the share answered
  correctly by at least one local pair, by the best single local pair (the most accurate; ties to
  lower mean energy) and by each pair; overall and per domain.
- **baselines**: everything to the strongest non-local pair; everything to the best local pair.
- **oracle** (an upper bound: it knows the answers): each query goes to the lowest-energy local pair
  that answers it correctly; if none does, to the lowest-energy non-local pair that does; if no pair
  does, to the lowest-energy local pair (it fails anyway: the cheapest failure), else the
  lowest-energy pair. A query counts as scored when some pair scored it. All queries.
- **learned policies**, honest figures: the queries are split once by ``SPLIT_RULE`` (fixed,
  documented, independent of order and of the pairs). A policy is chosen on the learn half; all its
  figures, and its savings against the baselines on the same queries, are on the evaluate half.
  - **by domain**, floor ``k`` points: each domain goes to the pair with the best IPJ on that domain
    among the pairs whose accuracy on it is at most ``k`` points below the domain's best.
  - **accuracy floor** ``k`` points: the lowest-energy assignment of one pair per domain (one pair
    for all is a special case) whose accuracy is at least the strongest pair's minus ``k`` points
    (``routing_choice.cheapest_assignment``, exact). ``meets_floor`` says whether it still does on
    the evaluate half (against the same strongest pair there).
- **savings** = 1 - E_policy / E_baseline, total energies over the same queries.
- 95 % intervals for every policy's accuracy, IPW and IPJ by the board's seeded bootstrap over
  queries (``metrics.bootstrap_intervals``).

Bounded memory: pairs are loaded one at a time (the next read while the current is folded in);
per query only running minima per local set are kept (~35 bytes a query a local set) plus per-pair
sums per (domain, half); the few pairs the learned policies and baselines use are read again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import routing_choice as choice
from .routing_core import (
    EVALUATE,
    FORMAT_VERSION,
    LEARN,
    S_CORRECT,
    S_E,
    SPLIT_RULE,
    LocalSet,
    Pair,
    PairColumns,
    Queries,
    _prefetched,
    _stat_sums,
    _View,
    figures,
    policy_figures,
    saving,
)

__all__ = ["FORMAT_VERSION", "LocalSet", "Pair", "PairColumns", "Queries", "analyse"]

DEFAULT_FLOORS = (0.0, 2.0, 5.0)


def _share(count: float, total: float) -> float | None:
    return float(count) / total if total > 0 else None


class _Learned:
    """A domain -> pair assignment's per-query outcome on the evaluate half, filled in pass 2."""

    def __init__(self, assignment: list[int], ev_domain: np.ndarray) -> None:
        m = len(ev_domain)
        self.assignment = assignment
        self.correct = np.zeros(m, dtype=bool)
        self.scored = np.zeros(m, dtype=bool)
        self.energy = np.full(m, np.nan, dtype=np.float32)
        self.latency = np.full(m, np.nan, dtype=np.float32)
        self.pair = np.zeros(m, dtype=np.int32)

    def fill(self, i: int, p: Any, ev_index: np.ndarray, ev_domain: np.ndarray) -> None:
        domains = [d for d, j in enumerate(self.assignment) if j == i]
        if not domains:
            return
        mask = np.isin(ev_domain, domains)
        at = ev_index[mask]
        self.correct[mask] = p.correct[at]
        self.scored[mask] = p.scored[at]
        self.energy[mask] = p.energy[at]
        self.latency[mask] = p.latency[at]
        self.pair[mask] = i


def analyse(
    queries: Queries,
    pairs: Sequence[Pair],
    load: Callable[[int], PairColumns],
    local_sets: Sequence[LocalSet],
    *,
    floors: Sequence[float] = DEFAULT_FLOORS,
    seed: int = 0,
    resamples: int = 1000,
) -> dict[str, dict[str, Any]]:
    """The analysis for each local set: ``{local_set.key: JSON-ready result}``. ``load(i)`` gives
    pair ``i``'s columns in dataset order (called once per pair, again for the policies' pairs)."""
    n, domains = queries.n, queries.domains
    if not pairs:
        raise ValueError("no pairs to analyse")
    d_count = max(len(domains), 1)
    codes = queries.codes.astype(np.intp)
    key = codes * 2 + queries.half.astype(np.intp)
    sums = np.zeros((len(pairs), d_count, 2, 6))
    scored_any = np.zeros(n, dtype=bool)
    correct_any = np.zeros(n, dtype=bool)
    views = {ls.key: _View(n) for ls in local_sets}
    is_local = {
        ls.key: np.array([p.device_class in ls.classes for p in pairs], dtype=bool)
        for ls in local_sets
    }

    # Pass 1: every pair once.
    for i, p in _prefetched(load, list(range(len(pairs)))):
        sums[i] = _stat_sums(p, key, 2 * d_count).reshape(d_count, 2, 6)
        scored_any |= p.scored
        correct_any |= p.correct & p.scored
        for ls in local_sets:
            views[ls.key].fold(p, bool(is_local[ls.key][i]))

    totals = sums.sum(axis=(1, 2))
    learn, evaluate = sums[:, :, LEARN], sums[:, :, EVALUATE]
    evaluate_totals = evaluate.sum(axis=1)
    all_pairs = list(range(len(pairs)))
    strongest_learn = choice.strongest(learn.sum(axis=1), all_pairs)
    learned: dict[tuple[str, float], list[int]] = {}
    for k in floors:
        learned[("by_domain", k)] = choice.by_domain(learn, k)
        # Nothing scored on the learn half (a tiny dataset): no floor to hold, the cheapest wins.
        best = float(np.nan_to_num(choice._accuracy(learn.sum(axis=1)[strongest_learn]), nan=0.0))
        learned[("floor", k)] = choice.cheapest_assignment(learn, best - k / 100.0)
    baselines: dict[str, dict[str, int | None]] = {}
    for ls in local_sets:
        local_idx = [i for i in all_pairs if is_local[ls.key][i]]
        remote_idx = [i for i in all_pairs if not is_local[ls.key][i]]
        baselines[ls.key] = {
            "strongest_remote": choice.strongest(totals, remote_idx),
            "best_local": choice.strongest(totals, local_idx),
        }

    # Pass 2: the pairs the learned policies and the baselines route to.
    ev_index = np.flatnonzero(queries.half == EVALUATE)
    ev_domain = codes[ev_index]
    # Floors often pick the same assignment: each distinct one is evaluated (and bootstrapped) once.
    outcomes = {tuple(a): _Learned(a, ev_domain) for a in learned.values()}
    baseline_pairs = {j for b in baselines.values() for j in b.values() if j is not None}
    needed = sorted(baseline_pairs | {j for a in learned.values() for j in a})
    baseline_figures: dict[int, dict[str, Any]] = {}
    for i, p in _prefetched(load, needed):
        for outcome in outcomes.values():
            outcome.fill(i, p, ev_index, ev_domain)
        if i in baseline_pairs:
            baseline_figures[i] = policy_figures(
                p.correct,
                p.scored,
                p.energy,
                p.latency,
                np.zeros(n, dtype=bool),
                seed=seed,
                resamples=resamples,
            )
    learned_figures = {
        assignment: policy_figures(
            o.correct,
            o.scored,
            o.energy,
            o.latency,
            np.zeros(len(ev_index), dtype=bool),
            seed=seed,
            resamples=resamples,
        )
        for assignment, o in outcomes.items()
    }

    n_scorable = int(scored_any.sum())
    common = {
        "format": FORMAT_VERSION,
        "n_queries": n,
        "n_scorable": n_scorable,
        "domains": list(domains),
        "split": {
            "rule": SPLIT_RULE,
            "learn": int(n - len(ev_index)),
            "evaluate": len(ev_index),
        },
        "floors": [float(k) for k in floors],
        "seed": seed,
        "resamples": resamples,
    }
    scorable_d = np.bincount(codes, weights=scored_any, minlength=d_count)
    covered_d = np.bincount(codes, weights=correct_any, minlength=d_count)
    results: dict[str, dict[str, Any]] = {}
    for ls in local_sets:
        local = is_local[ls.key]
        view = views[ls.key]
        base = baselines[ls.key]
        pair_rows = _pair_rows(pairs, local, totals, sums, scorable_d, n_scorable)
        local_d = np.bincount(codes, weights=view.local_correct & scored_any, minlength=d_count)
        best_local = base["best_local"]
        per_pair_d = sums[:, :, :, S_CORRECT].sum(axis=2)
        coverage = {
            "any_local": _share(local_d.sum(), n_scorable),
            "best_local": (
                _share(totals[best_local, S_CORRECT], n_scorable)
                if best_local is not None
                else None
            ),
            "best_local_pair": best_local,
            "any_pair": _share(covered_d.sum(), n_scorable),
            "per_domain": {
                name: {
                    "n_scorable": int(scorable_d[d]),
                    "any_local": _share(local_d[d], scorable_d[d]),
                    "best_local": (
                        _share(per_pair_d[best_local, d], scorable_d[d])
                        if best_local is not None
                        else None
                    ),
                    "any_pair": _share(covered_d[d], scorable_d[d]),
                }
                for d, name in enumerate(domains)
            },
        }
        energy_all = {
            b: (float(totals[j, S_E]) if j is not None else None) for b, j in base.items()
        }
        energy_eval = {
            b: (float(evaluate_totals[j, S_E]) if j is not None else None) for b, j in base.items()
        }
        policies: list[dict[str, Any]] = []
        for name, j in base.items():
            if j is None:
                continue
            row = {**baseline_figures[j], "local_share": 1.0 if local[j] else 0.0}
            policies.append({"id": name, "kind": "baseline", "queries": "all", "pair": j, **row})
        oracle = _oracle(view, correct_any, scored_any, seed=seed, resamples=resamples)
        policies.append(
            {"id": "oracle", "kind": "oracle", "queries": "all", "upper_bound": True, **oracle}
        )
        for (kind, k), assignment in learned.items():
            row = dict(learned_figures[tuple(assignment)])
            routed = outcomes[tuple(assignment)].pair
            row["local_share"] = float(local[routed].mean()) if len(routed) else None
            entry = {
                "id": f"{kind}_{k:g}",
                "kind": kind,
                "floor": k,
                "queries": "evaluate",
                "assignment": {domains[d]: j for d, j in enumerate(assignment) if d < len(domains)},
                **row,
            }
            if kind == "floor":
                strong_eval = float(figures(evaluate_totals[strongest_learn])["accuracy"] or 0.0)
                entry["strongest_pair"] = strongest_learn
                entry["target_accuracy"] = strong_eval - k / 100.0
                entry["meets_floor"] = bool(row["accuracy"] >= entry["target_accuracy"] - 1e-12)
            policies.append(entry)
        for policy in policies:
            against = energy_eval if policy["queries"] == "evaluate" else energy_all
            policy["savings"] = {
                f"vs_{b}": saving(policy["total_energy_j"], e) for b, e in against.items()
            }
        results[ls.key] = {
            **common,
            "local_set": {"key": ls.key, "label": ls.label, "classes": sorted(ls.classes)},
            "pairs": pair_rows,
            "coverage": coverage,
            "baselines": base,
            "policies": policies,
        }
    return results


def _oracle(
    view: _View, correct_any: np.ndarray, scored_any: np.ndarray, *, seed: int, resamples: int
) -> dict[str, Any]:
    local_hit = view.correct_local.found
    remote_hit = view.correct_remote.found & ~local_hit
    fallback_local = ~(local_hit | remote_hit) & view.any_local.found

    def pick(attr: str) -> np.ndarray:
        out = getattr(view.any_remote, attr).copy()
        for mask, source in (
            (fallback_local, view.any_local),
            (remote_hit, view.correct_remote),
            (local_hit, view.correct_local),
        ):
            out[mask] = getattr(source, attr)[mask]
        return out

    energy = pick("energy")
    energy[~np.isfinite(energy)] = np.nan
    return policy_figures(
        correct_any,
        scored_any,
        energy,
        pick("latency"),
        local_hit | fallback_local,
        seed=seed,
        resamples=resamples,
    )


def _pair_rows(
    pairs: Sequence[Pair],
    local: np.ndarray,
    totals: np.ndarray,
    sums: np.ndarray,
    scorable_d: np.ndarray,
    n_scorable: int,
) -> list[dict[str, Any]]:
    per_domain = sums.sum(axis=2)  # (pairs, domains, 6)
    rows = []
    for i, pair in enumerate(pairs):
        rows.append(
            {
                "key": pair.key,
                "label": pair.label,
                "device_class": pair.device_class,
                "local": bool(local[i]),
                "synthetic": pair.synthetic,
                **figures(totals[i]),
                "coverage": _share(totals[i, S_CORRECT], n_scorable),
                "per_domain": [
                    {
                        "accuracy": figures(per_domain[i, d])["accuracy"],
                        "coverage": _share(per_domain[i, d, S_CORRECT], scorable_d[d]),
                        "mean_energy_j": figures(per_domain[i, d])["mean_energy_j"],
                    }
                    for d in range(per_domain.shape[1])
                ],
            }
        )
    return rows
