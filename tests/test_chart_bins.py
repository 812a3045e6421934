"""Chart bins stored with each evaluation, and chart pages that weigh the same at any query count.

The board is built through the real pipeline (upload -> process_submission), so the bins checked
here are the ones the worker writes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from django.core.cache import cache

from evaluator.bins import bins_from_rows
from ipwboard.board.pairs import PairKey, best, pair_evaluations
from submissions.models import Evaluation
from submissions.services.perquery import read_results, store_results_table
from tests.browser.boarddata import build_board
from tests.conftest import Persona
from tests.perquery import query_rows

pytestmark = pytest.mark.django_db

ROWS = ("energy_j", "latency_s", "status")


@pytest.fixture
def board(alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Any]:
    return build_board(alice, alice_key, demo_version, make_bundle)


def _rows(e: Evaluation) -> Any:
    # The per-query file, in dataset order (issue 13 moved the rows there).
    return [tuple(getattr(r, name) for name in ROWS) for r in query_rows(e)]


def figures(body: bytes) -> list[dict[str, Any]]:
    blocks = re.findall(rb'<script type="application/json" id="[^"]+">(.*?)</script>', body, re.S)
    return [json.loads(block) for block in blocks]


def test_the_worker_stores_the_bins_of_every_query(board: list[Any]) -> None:
    evaluations = list(Evaluation.objects.all())
    assert evaluations
    for e in evaluations:
        assert e.bins == bins_from_rows(_rows(e))
        latency = e.bins["latency_s"]
        assert sum(sum(c) for c in latency["counts"].values()) == e.n_queries
        assert latency["summary"]["p50"] == pytest.approx(e.latency_p50_s, rel=0.05)
        correct = sum(e.bins["energy_j"]["counts"].get("correct", []))
        assert correct == sum(
            1 for r in query_rows(e) if r.status == "correct" and r.energy_j is not None
        )


# 0012's backfill of bins from stored rows is tested with the rows it read, on the historical
# schema, in tests/test_perquery_migration.py (0014 then moved those rows into files).


def _urls(board: list[Any]) -> dict[str, str]:
    heron, moe, soc = PairKey.of(board[0]), PairKey.of(board[2]), PairKey.of(board[5])
    return {
        "pair": heron.url(),
        "compare": f"/compare/?pairs={heron.token},{moe.token},{soc.token}",
        "trends": "/trends/",
    }


def test_chart_pages_draw_only_bars_and_scatters(board: list[Any], anonymous: Persona) -> None:
    """What plotly's basic bundle draws: no histogram or box trace (they need every value)."""
    for name, url in _urls(board).items():
        response = anonymous.client.get(url)
        assert response.status_code == 200, url
        found = figures(response.content)
        assert found, name
        kinds = {trace["type"] for figure in found for trace in figure["data"]}
        assert kinds <= {"bar", "scatter"}, (name, kinds)
        assert b"plotly-basic-3.7.0.min.js" in response.content, name
    pair = figures(anonymous.client.get(_urls(board)["pair"]).content)
    energy = next(f for f in pair if f["layout"]["xaxis"]["title"]["text"].startswith("Energy"))
    assert energy["layout"]["barmode"] == "stack"
    assert {trace["name"] for trace in energy["data"]} <= {"correct", "wrong", "unscored"}


def _inflate(e: Evaluation, total: int) -> None:
    """The pair's best run, grown to ``total`` queries as if the worker had scored that many:
    a new per-query file (issue 13: the rows are a file) and its bins."""
    rng = np.random.default_rng(7)
    table = read_results(e.queries_file.name)
    n = table.num_rows
    take = np.arange(total) % n
    grown = table.take(pa.array(take))
    energy = grown.column("energy_j").to_numpy(zero_copy_only=False)
    latency = grown.column("latency_s").to_numpy(zero_copy_only=False)
    jitter = np.where(np.arange(total) < n, 1.0, rng.uniform(0.2, 20, total))
    ids = [f"{q}~{i}" if i >= n else q for i, q in enumerate(grown.column("query_id").to_pylist())]
    for name, values in (
        ("position", pa.array(np.arange(total, dtype=np.int32))),
        ("query_id", pa.array(ids)),
        ("energy_j", pa.array(energy * jitter, mask=np.isnan(energy))),
        ("latency_s", pa.array(latency * np.where(np.arange(total) < n, 1.0, jitter))),
    ):
        grown = grown.set_column(grown.column_names.index(name), name, values)
    name = store_results_table(e.submission_id, grown)
    Evaluation.objects.filter(pk=e.pk).update(n_queries=total, queries_file=name)
    e.refresh_from_db()
    Evaluation.objects.filter(pk=e.pk).update(bins=bins_from_rows(_rows(e)))


def test_pair_and_compare_pages_weigh_the_same_at_any_query_count(
    board: list[Any], anonymous: Persona
) -> None:
    urls = _urls(board)
    key = PairKey.of(board[0])
    e = best(list(pair_evaluations(key)))
    assert e is not None and e.n_queries < 200
    small = {name: len(anonymous.client.get(urls[name]).content) for name in ("pair", "compare")}

    _inflate(e, 20_000)
    cache.clear()  # the pages and the pair's charts are cached; the board changed under them

    pages = {name: anonymous.client.get(urls[name]).content for name in ("pair", "compare")}
    for name, body in pages.items():
        # Embedding every value (the old histograms and box plots) added ~400 kB here.
        assert abs(len(body) - small[name]) < 3000, (name, small[name], len(body))
    # ... and the charts drew the 20,000 queries, from the bins.
    energy, latency = (
        next(f for f in figures(pages["pair"]) if title in f["layout"]["xaxis"]["title"]["text"])
        for title in ("Energy", "Latency")
    )
    assert sum(sum(trace["y"]) for trace in latency["data"]) == 20_000
    # x0.2..x20 jitter: over two decades, so log bins, on an axis of log10(J) labelled in J.
    axis = energy["layout"]["xaxis"]
    assert "log scale" in axis["title"]["text"] and "type" not in axis
    assert len(axis["tickvals"]) == len(axis["ticktext"]) >= 2
    assert energy["data"][0]["x"] == sorted(energy["data"][0]["x"])
    assert b"20000 queries" in pages["pair"]


def test_log_histograms_are_drawn_in_log10_coordinates_labelled_in_values() -> None:
    """Plotly sizes bars on a log axis in linear units (slivers in the wrong places): log bins
    go on a linear axis of log10(value) whose ticks read 0.1, 1, 10."""
    from ipwboard.board import charts

    h = bins_from_rows((10.0**k, 1.0, "correct") for k in np.linspace(-1, 3, 101))["energy_j"]
    assert h["scale"] == "log"
    figure = json.loads(charts.histogram(h, "e", "Energy per query", "J").json)
    axis = figure["layout"]["xaxis"]
    assert axis["ticktext"] == ["0.1", "1", "10", "100", "1,000"]
    assert axis["tickvals"] == [-1.0, 0.0, 1.0, 2.0, 3.0]
    assert axis["range"] == pytest.approx([-1.0, 3.0])
    x = figure["data"][0]["x"]
    assert x[0] == pytest.approx(-0.95) and x[-1] == pytest.approx(2.95)  # bin centres
    assert figure["data"][0]["customdata"][0] == [0.1, pytest.approx(0.1259, rel=1e-3)]
    assert sum(figure["data"][0]["y"]) == 101
