"""The per-query file layout (``evaluator.perquery``) and the items file (``evaluator.itemfile``):
pages, filters and sorts read from row groups equal the same query over the rows in memory."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluator import itemfile, perquery
from evaluator.items import DatasetItems
from evaluator.types import DatasetItem

N = 3_000
DOMAINS = ("math", "chat", "law", "zoology")


def _table(n: int = N, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    energy = rng.uniform(1, 100, n)
    energy[rng.random(n) < 0.05] = np.nan  # some unknown energies
    latency = np.round(rng.uniform(0.1, 5, n), 1)  # many ties
    columns = {
        name: pa.nulls(n, field.type)
        for name, field in zip(perquery.SCHEMA.names, perquery.SCHEMA, strict=True)
    }
    columns.update(
        submission_id=pa.array(["s"] * n),
        position=pa.array(np.arange(n, dtype=np.int32)),
        query_id=pa.array([f"q{i}" for i in range(n)]),
        domain=pa.array([DOMAINS[i] for i in rng.integers(0, len(DOMAINS), n)]),
        method=pa.array(["exact_match"] * n),
        status=pa.array(
            [("correct", "incorrect", "unscored")[i] for i in rng.choice(3, n, p=[0.6, 0.35, 0.05])]
        ),
        response=pa.array([f"answer {i}" for i in range(n)]),
        energy_j=pa.array(energy, mask=np.isnan(energy)),
        latency_s=pa.array(latency),
    )
    return pa.table(columns, schema=perquery.SCHEMA)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pa.Table]:
    path = tmp_path_factory.mktemp("pq") / "results.parquet"
    table = _table()
    perquery.write_table(table, str(path), row_group=128)
    return path, table


def test_segments_cover_the_rows_clustered(written: tuple[Path, pa.Table]) -> None:
    path, table = written
    f = perquery.PerQueryFile(str(path))
    assert f.num_rows == N and f.metadata.num_row_groups == math.ceil(N / 128)
    assert [s.start for s in f.segments] == list(np.cumsum([0] + [s.rows for s in f.segments[:-1]]))
    stored = pq.read_table(path)
    for s in f.segments:
        part = stored.slice(s.start, s.rows)
        assert set(part.column("domain").to_pylist()) == {s.domain}
        assert set(part.column("status").to_pylist()) == {s.status}
        positions = part.column("position").to_pylist()
        assert positions == sorted(positions)  # dataset order within a cluster
    assert perquery.dataset_order(stored).equals(table)  # nothing lost, nothing reordered


def _naive(table: pa.Table, domain: str, statuses: tuple[str, ...]) -> list[dict]:
    return [
        r
        for r in table.to_pylist()
        if (not domain or r["domain"] == domain) and (not statuses or r["status"] in statuses)
    ]


@pytest.mark.parametrize(
    ("domain", "statuses"),
    [
        ("", ()),
        ("law", ()),
        ("", ("incorrect",)),
        ("chat", ("incorrect",)),
        ("math", ("unscored", "correct")),
    ],
)
def test_pages_in_dataset_order(
    written: tuple[Path, pa.Table], domain: str, statuses: tuple[str, ...]
) -> None:
    path, table = written
    f = perquery.PerQueryFile(str(path))
    expected = [r["position"] for r in _naive(table, domain, statuses)]
    segments = f.select(domain, statuses)
    got: list[int] = []
    for offset in range(0, len(expected) + 50, 50):
        page = f.page(segments, offset, 50)
        assert page.total == len(expected)
        got += [r["position"] for r in page.rows]
    assert got == expected


@pytest.mark.parametrize("column", perquery.SORTABLE)
@pytest.mark.parametrize("descending", [False, True])
def test_sorted_pages(written: tuple[Path, pa.Table], column: str, descending: bool) -> None:
    path, table = written
    f = perquery.PerQueryFile(str(path))
    rows = _naive(table, "chat", ())
    known = sorted((r[column] for r in rows if r[column] is not None), reverse=descending)
    expected = known + [None] * (len(rows) - len(known))  # unknown last either way
    got = []
    for offset in range(0, len(rows), 37):
        page = f.page(f.select("chat"), offset, 37, sort=column, descending=descending)
        got += [r[column] for r in page.rows]
    assert got == expected
    with pytest.raises(ValueError):
        f.page(f.segments, 0, 5, sort="response")


def test_a_page_reads_few_row_groups(
    written: tuple[Path, pa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = written
    f = perquery.PerQueryFile(str(path))
    read: list[list[int]] = []
    real = f.file.read_row_groups

    def spy(groups, **kwargs):
        read.append(list(groups))
        return real(groups, **kwargs)

    monkeypatch.setattr(f.file, "read_row_groups", spy)
    f.page(f.select("law", ("incorrect",)), 100, 25)
    assert len(read) == 1 and len(read[0]) <= 2  # one cluster: contiguous rows


def test_item_file_lookups_by_position(tmp_path: Path) -> None:
    items = DatasetItems.build(
        DatasetItem(f"i{k}", f"prompt {k}", None if k % 7 == 0 else f"ref {k}", "d", "exact_match")
        for k in range(10_000)
    )
    path = tmp_path / "items.parquet"
    itemfile.write_items(items, str(path), references=True)
    f = itemfile.ItemFile(str(path))
    got = f.at([0, 7, 4095, 4096, 9999, 10_000, -1])
    assert sorted(got) == [0, 7, 4095, 4096, 9999]
    assert got[4096] == itemfile.Item("i4096", "prompt 4096", "ref 4096")
    assert got[7].reference == ""
    hidden = tmp_path / "hidden.parquet"
    itemfile.write_items(items, str(hidden), references=False)
    assert pq.read_table(hidden).column("reference").null_count == 10_000
    assert itemfile.open_ended_count(items) == 0


def test_results_from_objects_and_columns_agree(tmp_path: Path) -> None:
    from evaluator.results import ItemResults
    from evaluator.types import ItemResult

    items = [DatasetItem(f"q{i}", "p", "r", DOMAINS[i % 4], "exact_match") for i in range(50)]
    results = [
        ItemResult(
            f"q{i}",
            DOMAINS[i % 4],
            "exact_match",
            ("correct", "incorrect")[i % 2],
            None,
            "why",
            None if i == 3 else float(i + 1),
            0.5,
            None,
            i,
            f"resp {i}",
            input_tokens=i,
        )
        for i in range(50)
    ]
    columns = perquery.results_table(ItemResults.from_results(items, results), submission_id="x")
    objects = perquery.results_table(results, submission_id="x")
    assert columns.equals(objects)


def test_chunked_columns_are_written_as_contiguous_ones(tmp_path: Path) -> None:
    """The engine's columns come in many chunks; the writer gathers rows across them."""
    table = _table(1_000, seed=3)
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=97))
    assert chunked.column("response").num_chunks > 5
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    perquery.write_table(table, str(one), row_group=64)
    perquery.write_table(chunked, str(many), row_group=64)
    assert pq.read_table(one).equals(pq.read_table(many))
