"""Dataset items kept as Arrow columns, the duplicate finder, and the prefetching thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from evaluator import items as items_module
from evaluator.checks.telemetry import GAP
from evaluator.datasets import DatasetMeta, load_dataset, write_dataset
from evaluator.errors import BundleError
from evaluator.items import DatasetItems, first_duplicate
from evaluator.prefetch import Prefetch
from evaluator.types import Dataset, DatasetItem


def sample(n: int) -> list[DatasetItem]:
    out = []
    for i in range(n):
        if i % 3 == 0:
            params = {"options": {"A": f"a{i}", "B": f"b{i}"}}
            out.append(
                DatasetItem(f"mc-{i}", f"pick {i}", "AB"[i % 2], "trivia", "letter_match", params)
            )
        elif i % 3 == 1:
            out.append(
                DatasetItem(
                    f"n-{i}", f"{i}+1?", str(i + 1), "math", "numeric_match", {"tolerance": 0.5}
                )
            )
        else:
            out.append(DatasetItem(f"x-{i}", f"say {i}", f"w{i}", "chat", "exact_match", {}))
    return out


@pytest.mark.parametrize("n", [0, 1, 5, 200])
def test_items_round_trip_through_the_columns(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(items_module, "BATCH", 7)  # several record batches, even for small n
    originals = sample(n)
    if n:  # a private reference (not loaded) is None
        originals[-1] = DatasetItem("hidden", "?", None, "chat", "exact_match", {})
    table = DatasetItems.build(originals)
    assert len(table) == n
    assert list(table) == originals
    assert table == originals and table == tuple(originals)
    assert table == DatasetItems.build(originals)
    if n:
        assert table[0] == originals[0] and table[-1] == originals[-1]
        assert table[1:4] == originals[1:4]
        picks = np.array([n - 1, 0, n // 2])
        assert table.take(picks) == [originals[i] for i in picks]
        assert table.keys(0, n) == [(i.id, i.domain, i.method) for i in originals]
        assert table.domains() == [i.domain for i in originals]
        with pytest.raises(IndexError):
            table[n]
    assert table.ids().to_pylist() == [i.id for i in originals]
    assert table != originals[:-1] or n == 0


def test_dataset_keeps_any_sequence_as_columns() -> None:
    originals = sample(10)
    dataset = Dataset("d", "1", "0" * 64, tuple(originals))
    assert isinstance(dataset.items, DatasetItems)
    assert dataset.ids() == [i.id for i in originals]
    assert dataset.items == originals


def test_params_come_back_as_separate_dicts() -> None:
    table = DatasetItems.build(sample(3))
    first, again = table[0], table[0]
    first.params["options"]["A"] = "changed"  # type: ignore[index]
    assert again.params["options"]["A"] == "a0"
    assert table[0].params["options"]["A"] == "a0"


def test_first_duplicate_names_the_earliest_repeat() -> None:
    assert first_duplicate(pa.array(["a", "b", "c"])) is None
    assert first_duplicate(pa.array(["a", "b", "c", "b", "a"])) == (1, 3, "b")
    chunked = pa.chunked_array([pa.array(["x", "y"]), pa.array(["z", "x"])])
    assert first_duplicate(chunked) == (0, 3, "x")


def test_load_dataset_reports_the_duplicate_line(tmp_path: Path) -> None:
    meta = DatasetMeta("dup", "1", "CC0-1.0")
    path = tmp_path / "d.jsonl"
    write_dataset(path, meta, sample(6))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines, lines[3]]))  # item 3 (line 4) again as line 8
    with pytest.raises(BundleError) as caught:
        load_dataset(path)
    assert caught.value.code == "dataset.id.duplicate"
    assert caught.value.row == 8 and "line 4" in caught.value.message


def test_prefetch_yields_everything_in_order() -> None:
    fetched = Prefetch(lambda: iter(range(1000)), depth=3)
    try:
        assert list(fetched) == list(range(1000))
    finally:
        fetched.close()


def test_prefetch_raises_where_the_generator_would() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise BundleError(GAP, "boom")

    fetched = Prefetch(produce, depth=8)
    got = []
    with pytest.raises(BundleError) as caught:
        for value in fetched:
            got.append(value)
    fetched.close()
    assert got == [1, 2] and caught.value.code == GAP


def test_prefetch_factory_errors_surface_on_first_next() -> None:
    def factory() -> Iterator[int]:
        raise OSError("cannot open")

    fetched = Prefetch(factory)
    with pytest.raises(OSError, match="cannot open"):
        next(iter(fetched))
    fetched.close()


def test_prefetch_close_stops_a_producer_blocked_on_a_full_queue() -> None:
    produced = []

    def endless() -> Iterator[int]:
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    before = threading.active_count()
    fetched = Prefetch(endless, depth=2)
    time.sleep(0.2)  # it fills the queue and blocks
    assert len(produced) <= 4  # bounded: depth items queued, one more in hand
    fetched.close()
    assert threading.active_count() == before
