"""The routing analysis on hand-computable per-query results: three pairs, twelve queries.

Pairs (every query of a pair costs the same, so every figure is a small sum):
  R  datacenter  E = 10 J, t = 1 s (10 W)
  L1 laptop      E =  4 J, t = 2 s ( 2 W)
  L2 phone       E =  1 J, t = 1 s ( 1 W)
Domain "a" is positions 0-5, "b" 6-11. Correct answers (x), wrong (.), unscored (u):
         a: 0 1 2 3 4 5   b: 6 7 8 9 10 11
  R         x x x x x .      x x x x x  x     11/12
  L1        x x x x . x      x . . x .  .      7/12
  L2        x u . x . .      x x x x x  .      7/11
Split (crc32 of the ids below): learn = 0,1,2,6,7,8; evaluate = 3,4,5,9,10,11.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from evaluator import routing_io
from evaluator.routing import LocalSet, Pair, PairColumns, Queries, analyse

IDS = ["q00", "q01", "q02", "q04", "q05", "q06", "q08", "q09", "q14", "q10", "q11", "q12"]
HALVES = [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]
MARKS = {
    "R": "xxxxx.xxxxxx",
    "L1": "xxxx.xx..x..",
    "L2": "xu.x..xxxxx.",
}
COST = {"R": (10.0, 1.0), "L1": (4.0, 2.0), "L2": (1.0, 1.0)}
PAIRS = [Pair("R", "R", "datacenter"), Pair("L1", "L1", "laptop"), Pair("L2", "L2", "phone")]
DEFAULT = LocalSet("default", "not datacenter", frozenset({"laptop", "phone", "desktop"}))
LAPTOP = LocalSet("laptop", "laptops only", frozenset({"laptop"}))
R, L1, L2 = 0, 1, 2


def _columns(name: str) -> PairColumns:
    status = np.array([{"x": 0, ".": 1, "u": 2}[m] for m in MARKS[name]], dtype=np.uint8)
    energy, latency = COST[name]
    return PairColumns(status, np.full(12, energy), np.full(12, latency))


def _queries() -> Queries:
    return Queries.build(IDS, ["b", "a"], np.array([1] * 6 + [0] * 6))


@pytest.fixture(scope="module")
def result() -> dict:
    loads: list[int] = []

    def load(i: int) -> PairColumns:
        loads.append(i)
        return _columns(PAIRS[i].key)

    out = analyse(_queries(), PAIRS, load, [DEFAULT, LAPTOP], floors=(0, 20, 50), resamples=200)
    # Each pair once, then only the pairs some policy or baseline routes to (all three here).
    assert loads == [0, 1, 2, 0, 1, 2]
    return out


def _policy(view: dict, pid: str) -> dict:
    return next(p for p in view["policies"] if p["id"] == pid)


def test_split_and_domains() -> None:
    q = _queries()
    assert q.half.tolist() == HALVES
    assert q.domains == ["a", "b"]  # sorted, codes remapped
    assert q.codes.tolist() == [0] * 6 + [1] * 6


def test_pairs_and_coverage(result: dict) -> None:
    view = result["default"]
    assert view["n_queries"] == 12 and view["n_scorable"] == 12
    assert view["split"]["learn"] == 6 and view["split"]["evaluate"] == 6
    r, l1, l2 = view["pairs"]
    assert (r["n_correct"], r["n_scored"], r["total_energy_j"]) == (11, 12, 120.0)
    assert r["accuracy"] == pytest.approx(11 / 12)
    assert r["mean_power_w"] == 10.0 and r["ipw"] == pytest.approx(11 / 120)
    assert l1["accuracy"] == pytest.approx(7 / 12) and l1["mean_power_w"] == 2.0
    assert l1["ipj"] == pytest.approx(7 / 48)
    assert (l2["n_correct"], l2["n_scored"]) == (7, 11)
    assert l2["accuracy"] == pytest.approx(7 / 11) and l2["coverage"] == pytest.approx(7 / 12)
    assert [r["local"], l1["local"], l2["local"]] == [False, True, True]
    assert [d["coverage"] for d in l2["per_domain"]] == pytest.approx([2 / 6, 5 / 6])
    cov = view["coverage"]
    assert cov["any_local"] == pytest.approx(10 / 12)  # q4 and q11 only R answers
    assert cov["best_local_pair"] == L2  # 7/11 beats 7/12
    assert cov["best_local"] == pytest.approx(7 / 12)
    assert cov["any_pair"] == 1.0
    assert cov["per_domain"]["a"] == pytest.approx(
        {"n_scorable": 6, "any_local": 5 / 6, "best_local": 2 / 6, "any_pair": 1.0}
    )
    assert cov["per_domain"]["b"] == pytest.approx(
        {"n_scorable": 6, "any_local": 5 / 6, "best_local": 5 / 6, "any_pair": 1.0}
    )
    laptop = result["laptop"]["coverage"]
    assert laptop["any_local"] == pytest.approx(7 / 12) and laptop["best_local_pair"] == L1


def test_baselines(result: dict) -> None:
    view = result["default"]
    assert view["baselines"] == {"strongest_remote": R, "best_local": L2}
    remote, local = _policy(view, "strongest_remote"), _policy(view, "best_local")
    assert remote["total_energy_j"] == 120.0 and remote["accuracy"] == pytest.approx(11 / 12)
    assert remote["local_share"] == 0.0
    assert remote["savings"] == pytest.approx({"vs_strongest_remote": 0.0, "vs_best_local": -9.0})
    assert local["total_energy_j"] == 12.0 and local["accuracy"] == pytest.approx(7 / 11)
    assert local["mean_power_w"] == 1.0 and local["local_share"] == 1.0
    assert local["savings"] == pytest.approx({"vs_strongest_remote": 0.9, "vs_best_local": 0.0})


def test_oracle(result: dict) -> None:
    # L2 where it is right (0,3,6-10: 7 x 1 J), L1 where only it is (1,2,5: 3 x 4 J), R for 4, 11.
    oracle = _policy(result["default"], "oracle")
    assert oracle["upper_bound"] is True and oracle["queries"] == "all"
    assert oracle["total_energy_j"] == 39.0 and oracle["accuracy"] == 1.0
    assert oracle["mean_power_w"] == pytest.approx(33 / 12)
    assert oracle["ipw"] == pytest.approx(12 / 33) and oracle["ipj"] == pytest.approx(12 / 39)
    assert oracle["local_share"] == pytest.approx(10 / 12)
    assert oracle["savings"] == pytest.approx(
        {"vs_strongest_remote": 1 - 39 / 120, "vs_best_local": 1 - 39 / 12}
    )
    # Laptops only: L1 where right (0,1,2,3,5,6,9), then the cheapest remote that is right.
    laptop = _policy(result["laptop"], "oracle")
    assert laptop["total_energy_j"] == 51.0 and laptop["local_share"] == pytest.approx(7 / 12)
    assert laptop["mean_power_w"] == pytest.approx(37 / 12)
    assert laptop["savings"]["vs_best_local"] == pytest.approx(1 - 51 / 48)


def test_learned_policies(result: dict) -> None:
    view = result["default"]
    by0 = _policy(view, "by_domain_0")
    # Learn half: a -> L1 (accuracy 1, IPJ 1/4 beats R's 1/10); b -> L2 (accuracy 1, IPJ 1).
    assert by0["assignment"] == {"a": L1, "b": L2} and by0["queries"] == "evaluate"
    # Evaluate half: L1 on 3,4,5 (2 right, 12 J), L2 on 9,10,11 (2 right, 3 J).
    assert by0["n_scored"] == 6 and by0["accuracy"] == pytest.approx(4 / 6)
    assert by0["total_energy_j"] == 15.0 and by0["mean_power_w"] == 1.5
    assert by0["ipw"] == pytest.approx(4 / 9) and by0["ipj"] == pytest.approx(4 / 15)
    # Against R (60 J) and L2 (6 J) on the same six queries.
    assert by0["savings"] == pytest.approx({"vs_strongest_remote": 0.75, "vs_best_local": -1.5})
    assert _policy(view, "by_domain_20")["assignment"] == {"a": L1, "b": L2}
    by50 = _policy(view, "by_domain_50")
    assert by50["assignment"] == {"a": L2, "b": L2}
    assert by50["total_energy_j"] == 6.0 and by50["accuracy"] == 0.5

    floor0 = _policy(view, "floor_0")
    assert floor0["assignment"] == {"a": L1, "b": L2} and floor0["total_energy_j"] == 15.0
    # Target 0.8 on the learn half: L2 everywhere makes exactly 4/5 (a float tie that counts).
    floor20 = _policy(view, "floor_20")
    assert floor20["assignment"] == {"a": L2, "b": L2}
    assert floor20["total_energy_j"] == 6.0 and floor20["accuracy"] == 0.5
    assert floor20["strongest_pair"] == R
    # R makes 5/6 on the evaluate half: the target there is 5/6 - 0.2, which 0.5 misses.
    assert floor20["target_accuracy"] == pytest.approx(5 / 6 - 0.2)
    assert floor20["meets_floor"] is False and floor0["meets_floor"] is False
    assert floor20["savings"] == pytest.approx({"vs_strongest_remote": 0.9, "vs_best_local": 0.0})


def test_intervals_are_seeded_and_contain_the_estimate(result: dict) -> None:
    again = analyse(
        _queries(),
        PAIRS,
        lambda i: _columns(PAIRS[i].key),
        [DEFAULT],
        floors=(0, 20, 50),
        resamples=200,
    )
    for policy, same in zip(
        result["default"]["policies"], again["default"]["policies"], strict=True
    ):
        assert policy == same
        low, high = policy["accuracy_ci"]
        assert low <= policy["accuracy"] <= high


def test_reading_files_aligns_by_position(tmp_path) -> None:
    """Rows in any order (the files are clustered by domain and status) land at their position;
    a position a file lacks stays unscored."""
    table = pa.table(
        {
            "position": pa.array([2, 0], pa.int32()),
            "status": pa.array(["incorrect", "correct"]),
            "energy_j": [3.0, 1.0],
            "latency_s": [1.0, 1.0],
        }
    )
    cols = routing_io.pair_columns(table, 3)
    assert cols.status.tolist() == [0, 2, 1]
    assert np.isnan(cols.energy_j[1]) and cols.energy_j[2] == 3.0
    with pytest.raises(ValueError, match="position out of range"):
        routing_io.pair_columns(table, 2)
    q = routing_io.queries_from_table(
        pa.table({"position": [1, 0], "domain": ["y", "x"], "query_id": ["b", "a"]})
    )
    assert q.half.tolist() == [1, 1] and q.domains == ["x", "y"] and q.codes.tolist() == [0, 1]


def test_degenerate_inputs_do_not_fail() -> None:
    """One query (an empty learn half), a pair with no local counterpart, nothing scored."""
    q = Queries.build(["q04"], ["a"], np.array([0]))  # q04 falls in the evaluate half
    pairs = [Pair("R", "R", "datacenter")]
    cols = PairColumns(np.array([2], np.uint8), np.array([1.0]), np.array([1.0]))
    out = analyse(q, pairs, lambda i: cols, [DEFAULT], resamples=50)["default"]
    assert out["coverage"]["any_local"] is None and out["coverage"]["best_local_pair"] is None
    assert out["baselines"] == {"strongest_remote": 0, "best_local": None}
    assert {p["id"] for p in out["policies"]} >= {"oracle", "floor_2", "by_domain_2"}
    assert _policy(out, "strongest_remote")["savings"]["vs_best_local"] is None
    with pytest.raises(ValueError, match="no pairs"):
        analyse(q, [], lambda i: cols, [DEFAULT])
