"""Issue 12, findings 2-4, through ``evaluate()``: zero-energy rows within the share, the content
fingerprint of re-encoded copies, pasted reference answers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from badbundles import (
    NEAR_COPY,
    REENCODINGS,
    corpus_trusted_keys,
    make_dataset,
    make_valid_bundle,
    mutate,
    reencode,
)

from evaluator.checks.energy import impute_zero_energy
from evaluator.content import parse_content_fingerprint, sketches_similar
from evaluator.engine import evaluate
from evaluator.types import Dataset, DatasetItem


def _zero_rows(rows: list[int]):  # type: ignore[no-untyped-def]
    def edit(table: pa.Table) -> pa.Table:
        values = np.asarray(table.column("energy_j").to_numpy(), dtype=np.float64).copy()
        values[rows] = 0.0
        index = table.schema.get_field_index("energy_j")
        return table.set_column(index, table.schema.field(index), pa.array(values))

    return edit


def test_zero_energy_rows_within_the_share_are_imputed_and_labelled(tmp_path: Path) -> None:
    dataset = make_dataset(n=60)  # 5 % of 60: three 0 J rows allowed
    valid = make_valid_bundle(tmp_path, dataset, with_trace=False)
    bundle = mutate(valid, tmp_path, queries=_zero_rows([4, 20, 41]))
    result = evaluate(bundle, dataset, trusted_keys=corpus_trusted_keys())

    assert "energy-imputed" in result.labels
    [check] = [c for c in result.checks if c.code == "queries.energy_zero"]
    assert check.status == "pass" and check.message.startswith("3 of 60 queries read 0 J")
    raw = np.array([item.energy_j for item in result.items])
    latency = np.array([item.latency_s for item in result.items])
    assert int((raw == 0).sum()) == 3  # the per-query data keeps the raw value
    imputed = impute_zero_energy(raw, latency)
    assert result.metrics.total_energy_j == pytest.approx(imputed.sum())
    assert result.metrics.mean_power_w == pytest.approx(np.mean(raw[raw > 0] / latency[raw > 0]))


def test_reencoded_copies_have_the_same_content_fingerprint(tmp_path: Path) -> None:
    dataset = make_dataset()
    keys = corpus_trusted_keys()
    valid = make_valid_bundle(tmp_path, dataset)
    original = evaluate(valid, dataset, trusted_keys=keys).bundle
    ours = parse_content_fingerprint(original.content_fingerprint or "")
    for name, how in REENCODINGS.items():
        copy = reencode(valid, tmp_path / f"{name}.ipwb", how)
        info = evaluate(copy, dataset, trusted_keys=keys).bundle
        assert info.run_id != original.run_id, name
        assert info.member_sha256["queries.parquet"] != original.member_sha256["queries.parquet"]
        assert info.content_fingerprint == original.content_fingerprint, name

    near = evaluate(reencode(valid, tmp_path / "near.ipwb", NEAR_COPY), dataset, trusted_keys=keys)
    theirs = parse_content_fingerprint(near.bundle.content_fingerprint or "")
    assert theirs.content != ours.content  # not an exact copy ...
    assert theirs.responses == ours.responses and sketches_similar(theirs, ours)  # ... a near one


def _free_form_dataset() -> Dataset:
    items = [
        DatasetItem(
            f"open-{i:02d}",
            f"Explain step {i}.",
            f"Step {i} multiplies the length by the width to give the area of the room.",
            "explain",
            "llm_judge",
        )
        for i in range(8)
    ]
    digest = hashlib.sha256(json.dumps([item.id for item in items]).encode()).hexdigest()
    return Dataset("open-mini", "1", digest, tuple(items))


def test_pasted_reference_answers_are_held_for_review(tmp_path: Path) -> None:
    dataset = _free_form_dataset()
    # The corpus's valid bundle answers free-form items with the reference itself: a paste.
    pasted = make_valid_bundle(tmp_path, dataset)
    result = evaluate(pasted, dataset, trusted_keys=corpus_trusted_keys())
    [check] = [c for c in result.checks if c.code == "responses.copy_reference"]
    assert check.status == "warn"
    assert check.message.startswith("7 of 8 free-form responses (88%) reproduce")
    assert {"reference-copy-suspect", "provisional"} <= set(result.labels)

    def own_words(table: pa.Table) -> pa.Table:
        answers = [f"The area is length times width, step {i}." for i in range(table.num_rows)]
        index = table.schema.get_field_index("response")
        return table.set_column(index, table.schema.field(index), pa.array(answers))

    honest = mutate(pasted, tmp_path, queries=own_words, name="honest.ipwb")
    result = evaluate(honest, dataset, trusted_keys=corpus_trusted_keys())
    [check] = [c for c in result.checks if c.code == "responses.copy_reference"]
    assert check.status == "pass"
    assert "reference-copy-suspect" not in result.labels
