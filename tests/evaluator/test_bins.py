"""The chart bins the worker stores with an evaluation (``evaluator.bins``)."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from evaluator.bins import (
    BINS,
    QUANTILES,
    bins_from_rows,
    bins_of,
    centres,
    chart_bins,
    histogram,
    usable,
)
from evaluator.results import STATUS_CODE, ItemResults
from evaluator.types import DatasetItem, ItemResult


def _total(h: dict) -> np.ndarray:
    return np.sum([np.array(c) for c in h["counts"].values()], axis=0)


def test_every_known_value_is_counted_once_in_its_bin_and_status() -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(1.0, 9.0, 5000)
    values[:7] = np.nan
    status = rng.integers(0, 3, values.size).astype(np.uint8)
    h = histogram(values, status)
    assert h is not None and h["scale"] == "linear"
    assert len(h["edges"]) == BINS + 1 and h["n"] == 4993 and h["missing"] == 7
    # Same counts as numpy's own histogram over the same edges, status by status.
    for name, code in STATUS_CODE.items():
        mine = values[(status == code) & np.isfinite(values)]
        expected = np.histogram(mine, bins=np.array(h["edges"]))[0].tolist()
        assert h["counts"][name] == expected, name
    assert _total(h).sum() == 4993
    assert h["edges"][0] == np.nanmin(values) and h["edges"][-1] == np.nanmax(values)


def test_summary_is_numpys_quantiles_and_mean() -> None:
    rng = np.random.default_rng(2)
    values = rng.lognormal(1.0, 0.3, 10_001)
    h = histogram(values, np.zeros(values.size, np.uint8))
    assert h is not None
    expected = np.quantile(values, list(QUANTILES.values()))
    assert [h["summary"][k] for k in QUANTILES] == expected.tolist()
    assert h["summary"]["mean"] == pytest.approx(values.mean())


def test_log_bins_when_the_data_span_two_decades() -> None:
    wide = np.array([0.5, 1.0, 2.0, 5.0, 60.0, 400.0])  # 800x: log
    narrow = np.array([10.0, 12.0, 30.0, 900.0 / 10])  # 9x: linear
    h = histogram(wide, np.zeros(wide.size, np.uint8))
    assert h is not None and h["scale"] == "log"
    ratios = np.diff(np.log(h["edges"]))
    assert np.allclose(ratios, ratios[0])  # equal steps in log space
    assert np.allclose(centres(h), np.sqrt(np.array(h["edges"][:-1]) * h["edges"][1:]))
    assert _total(h).sum() == wide.size
    assert histogram(narrow, np.zeros(narrow.size, np.uint8))["scale"] == "linear"
    # A zero (or a negative) cannot sit on a log axis: linear, however wide.
    with_zero = np.array([0.0, 1.0, 1000.0])
    assert histogram(with_zero, np.zeros(3, np.uint8))["scale"] == "linear"


def test_one_value_and_no_value() -> None:
    h = histogram(np.array([3.0, 3.0, 3.0]), np.array([0, 1, 0], np.uint8))
    assert h is not None and h["edges"][0] < 3.0 < h["edges"][-1]
    assert sum(h["counts"]["correct"]) == 2 and sum(h["counts"]["incorrect"]) == 1
    (where,) = np.flatnonzero(h["counts"]["correct"])
    assert h["edges"][where] <= 3.0 <= h["edges"][where + 1]
    assert "unscored" not in h["counts"]  # statuses without queries are left out
    assert histogram(np.array([math.nan, math.nan]), np.zeros(2, np.uint8)) is None
    empty = chart_bins(np.empty(0), np.empty(0), np.empty(0, np.uint8))
    assert empty == {"version": 1, "n": 0}


def test_columns_must_line_up() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        chart_bins(np.ones(3), np.ones(2), np.zeros(3, np.uint8))


def test_size_is_bounded_and_a_million_queries_bin_fast() -> None:
    rng = np.random.default_rng(3)

    def columns(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        energy = rng.lognormal(2.0, 1.2, n)
        energy[::50] = np.nan  # queries without an energy
        return energy, rng.lognormal(0.0, 0.6, n), rng.integers(0, 3, n).astype(np.uint8)

    small = chart_bins(*columns(1000))
    big_columns = columns(1_000_000)
    started = time.perf_counter()
    big = chart_bins(*big_columns)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s for a million queries"
    assert big["n"] == 1_000_000 and _total(big["latency_s"]).sum() == 1_000_000
    size_small, size_big = len(json.dumps(small)), len(json.dumps(big))
    assert size_big < 5000 and abs(size_big - size_small) < 1000, (size_small, size_big)


def _items(n: int) -> tuple[list[DatasetItem], list[ItemResult]]:
    items = [DatasetItem(f"q{i}", "p", "r", "math" if i % 2 else "code", "exact") for i in range(n)]
    statuses = ("correct", "incorrect", "unscored")
    results = [
        ItemResult(
            query_id=f"q{i}",
            domain=item.domain,
            method="exact",
            status=statuses[i % 3],  # type: ignore[arg-type]
            extracted=None,
            reason="",
            energy_j=None if i == 4 else 1.5 * (i + 1),
            latency_s=0.1 * (i + 1),
            ttft_s=None,
            output_tokens=None,
        )
        for i, item in enumerate(items)
    ]
    return items, results


def test_engine_columns_objects_and_stored_rows_give_the_same_bins() -> None:
    items, results = _items(300)
    from_columns = bins_of(ItemResults.from_results(items, results))
    from_objects = bins_of(results)
    from_rows = bins_from_rows((r.energy_j, r.latency_s, r.status) for r in results)
    assert from_columns == from_objects == from_rows
    assert from_rows["energy_j"]["missing"] == 1 and from_rows["energy_j"]["n"] == 299
    assert from_rows["latency_s"]["counts"]["unscored"] and from_rows["n"] == 300
    assert json.loads(json.dumps(from_rows)) == from_rows  # stored as JSON as it is


def test_only_bins_of_this_layout_are_used() -> None:
    current = chart_bins(np.ones(3), np.ones(3), np.zeros(3, np.uint8))
    assert usable(current) is current
    assert usable({**current, "version": 0}) == {} and usable({}) == {} and usable(None) == {}
