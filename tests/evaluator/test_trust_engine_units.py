"""Issue 12, findings 2-4, engine side, unit by unit: the zero-energy rule, the content fingerprint
and the pasted-reference check (the bundles through evaluate() are in test_trust_engine_bundles)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from evaluator.bundle.tables import QueryColumns
from evaluator.checks import energy, references
from evaluator.checks.recordable import check_recordable
from evaluator.content import (
    canonical_numbers,
    content_fingerprint,
    parse_content_fingerprint,
    parse_sketch,
    sketches_similar,
)
from evaluator.errors import BundleError
from evaluator.metrics import MetricInputs, compute_metrics
from evaluator.results import ItemResults
from evaluator.types import DatasetItem, ItemResult

# -- zero energy ---------------------------------------------------------------------------------


def _queries(energy_j: list[float]) -> QueryColumns:
    n = len(energy_j)
    return QueryColumns(
        ids=[f"q{i:04d}" for i in range(n)],  # type: ignore[arg-type]
        response_chars=np.zeros(n, dtype=np.int64),
        numbers={"energy_j": np.array(energy_j, dtype=np.float64)},
    )


def test_zero_energy_within_the_share_passes_and_is_counted() -> None:
    checks = energy.check_zero_energy(_queries([0.0] * 6 + [10.0] * 114))
    [check] = checks
    assert (check.code, check.status) == ("queries.energy_zero", "pass")
    assert check.message.startswith("6 of 120 queries read 0 J (allowed: 6)")
    assert energy.check_zero_energy(_queries([10.0] * 120)) == []


@pytest.mark.parametrize(
    "values",
    [[0.0] * 120, [0.0] * 119 + [250.0], [0.0] * 7 + [10.0] * 113, [0.0] + [10.0] * 11],
    ids=["all-zero", "119-zero-one-real", "7-of-120", "1-of-12"],
)
def test_zero_energy_beyond_the_share_is_rejected(values: list[float]) -> None:
    with pytest.raises(BundleError) as raised:
        energy.check_zero_energy(_queries(values))
    error = raised.value
    assert error.code == "bundle.queries.energy_zero"
    assert (error.file, error.field, error.row) == ("queries.parquet", "energy_j", 0)
    assert f"of {len(values)} queries read energy_j = 0" in error.message
    assert "at most 5%" in error.message


def test_imputation_is_mean_power_of_the_measured_rows_times_latency() -> None:
    e = np.array([0.0, 10.0, 30.0, 0.0])
    t = np.array([2.0, 1.0, 3.0, 0.5])
    imputed = energy.impute_zero_energy(e, t)
    # mean power over the non-zero rows: (10/1 + 30/3) / 2 = 10 W
    assert imputed.tolist() == [20.0, 10.0, 30.0, 5.0]
    assert e.tolist() == [0.0, 10.0, 30.0, 0.0]  # the raw values are not touched
    untouched = np.array([1.0, 2.0])
    assert energy.impute_zero_energy(untouched, np.ones(2)) is untouched


def test_metrics_use_the_imputed_energies() -> None:
    n = 100
    rng = np.random.default_rng(5)
    latency = rng.uniform(0.5, 3.0, n)
    raw = latency * rng.uniform(90, 110, n)
    raw[:5] = 0.0  # five 0 J rows (5 %: allowed)
    inputs = MetricInputs(
        correct=np.ones(n, bool),
        scored=np.ones(n, bool),
        energy_j=raw,
        latency_s=latency,
        ttft_s=np.full(n, math.nan),
        output_tokens=np.full(n, 100.0),
        domains=["d"] * n,
    )
    metrics = compute_metrics(inputs, resamples=50)
    mean_power = float(np.mean(raw[5:] / latency[5:]))
    assert metrics.mean_power_w == pytest.approx(mean_power)  # imputed rows at the mean power
    imputed = energy.impute_zero_energy(raw, latency)
    assert metrics.total_energy_j == pytest.approx(imputed.sum())
    assert metrics.mean_energy_j == pytest.approx(imputed.mean())
    assert metrics.ipw == pytest.approx(1.0 / mean_power)
    assert metrics.energy_per_1k_output_tokens_j == pytest.approx(imputed.sum() / (100 * n) * 1e3)
    # Counted as 0 J the same run would show a lower power and a higher IPW.
    assert metrics.ipw < 1.0 / float(np.mean(raw / latency))


def test_unrecordable_metrics_are_a_coded_rejection() -> None:
    tiny = MetricInputs(
        correct=[True],
        scored=[True],
        energy_j=[0.0],
        latency_s=[1.0],
        ttft_s=[math.nan],
        output_tokens=[1.0],
        domains=["d"],
    )
    with pytest.raises(BundleError) as raised:
        check_recordable(compute_metrics(tiny, resamples=10))
    assert raised.value.code == "bundle.metrics.not_finite"
    assert "ipw" in raised.value.message


# -- content fingerprint -------------------------------------------------------------------------


def _content(
    order: np.ndarray | None = None, scale: float = 1.0, float32: bool = False, **changes: object
) -> str:
    n = 40
    ids = [f"item-{i:03d}" for i in range(n)]
    responses = [f"answer {i} é" for i in range(n)]
    energy_j = np.linspace(1.0, 200.0, n) * scale
    latency = np.linspace(0.5, 9.0, n)
    if float32:
        energy_j = energy_j.astype(np.float32).astype(np.float64)
        latency = latency.astype(np.float32).astype(np.float64)
    columns = {
        "ids": ids,
        "responses": responses,
        "input_tokens": np.arange(n, dtype=np.float64) + 10,
        "output_tokens": np.arange(n, dtype=np.float64) + 100,
        "energy_j": energy_j,
        "latency_s": latency,
    }
    columns.update(changes)
    if order is not None:
        columns = {
            k: [v[i] for i in order] if isinstance(v, list) else np.asarray(v)[order]
            for k, v in columns.items()
        }
    return content_fingerprint(
        pa.chunked_array([pa.array(columns["ids"])]),
        pa.chunked_array([pa.array(columns["responses"])]),
        input_tokens=columns["input_tokens"],  # type: ignore[arg-type]
        output_tokens=columns["output_tokens"],  # type: ignore[arg-type]
        energy_j=columns["energy_j"],  # type: ignore[arg-type]
        latency_s=columns["latency_s"],  # type: ignore[arg-type]
    ).encode()


def test_content_fingerprint_ignores_row_order_and_float_width() -> None:
    base = parse_content_fingerprint(_content())
    shuffled = parse_content_fingerprint(_content(order=np.random.default_rng(1).permutation(40)))
    assert shuffled == base
    narrow = parse_content_fingerprint(_content(float32=True))
    assert narrow.responses == base.responses and sketches_similar(narrow, base)


def test_content_fingerprint_changes_with_the_measurements() -> None:
    base = parse_content_fingerprint(_content())
    nudged = parse_content_fingerprint(_content(scale=1.0001))
    assert nudged.content != base.content
    assert nudged.responses == base.responses  # same answers ...
    assert sketches_similar(nudged, base)  # ... energies within 0.5 %: a near-copy
    remeasured = parse_content_fingerprint(_content(scale=1.02))
    assert not sketches_similar(remeasured, base)
    other_answers = parse_content_fingerprint(_content(responses=[f"r{i}" for i in range(40)]))
    assert other_answers.responses != base.responses and other_answers.content != base.content
    tokens = parse_content_fingerprint(_content(output_tokens=np.arange(40.0) + 101))
    assert tokens.content != base.content and tokens.responses == base.responses


def test_content_fingerprint_round_trips_and_the_sketch_stands_alone() -> None:
    text = _content()
    parsed = parse_content_fingerprint(text)
    assert parsed.encode() == text
    sketch = parse_sketch(parsed.sketch_text)
    assert sketch.sketch == parsed.sketch and sketch.n == 40 and sketch.content == ""


def test_canonical_numbers_have_one_representation() -> None:
    mantissa, exponent = canonical_numbers(np.array([9.9999996, 10.0, 0.0, math.nan, 123.4567]))
    assert (mantissa[0], exponent[0]) == (mantissa[1], exponent[1]) == (100000, -4)
    assert (mantissa[2], exponent[2]) == (0, 0)
    assert exponent[3] == 2**31
    assert (mantissa[4], exponent[4]) == (123457, -3)


# -- pasted references ---------------------------------------------------------------------------

_REF = "Multiply the length by the width: 7 m × 2 m = 14 m²."


def _results(responses: list[str], method: str = "llm_judge", reference: str = _REF) -> ItemResults:
    items = [
        DatasetItem(f"q{i}", f"prompt {i}", f"{reference} ({i})", "d", method)  # type: ignore[arg-type]
        for i in range(len(responses))
    ]
    rows = [
        ItemResult(item.id, "d", method, "correct", None, "", 1.0, 1.0, None, 10, response)
        for item, response in zip(items, responses, strict=True)
    ]
    return ItemResults.from_results(items, rows)


def test_pasted_references_are_flagged_after_normalisation() -> None:
    pasted = [
        "{ref} ({i})",
        "ANSWER:   multiply the LENGTH by the width - 7 m × 2 m = 14 m2 ({i})",
        "Sure! {ref_upper} ({i}) Hope that helps.",
    ]
    responses = [
        pasted[i % 3].format(ref=_REF, ref_upper=_REF.upper(), i=i)
        if i < 6
        else "In other words, area is length times width."
        for i in range(10)
    ]
    [check] = references.check_copied_references(_results(responses))
    assert (check.code, check.status) == ("responses.copy_reference", "warn")
    assert check.message.startswith("6 of 10 free-form responses (60%) reproduce")


def test_paraphrases_short_exact_answers_and_a_few_copies_pass() -> None:
    paraphrased = _results([f"Area = 7 m times 2 m, which is 14 m² ({i})" for i in range(10)])
    assert [c.status for c in references.check_copied_references(paraphrased)] == ["pass"]
    # Two copies of ten (20 %): under the share, and under the minimum count.
    few = _results([f"{_REF} ({i})" if i < 2 else "something else" for i in range(10)])
    [check] = references.check_copied_references(few)
    assert check.status == "pass" and check.message.startswith("2 of 10")
    # A short exact answer is what a right answer looks like: not free-form.
    short = _results(["Paris (1)"] * 10, method="exact_match", reference="Paris")
    assert references.check_copied_references(short) == []
    long_exact = _results(
        [f"the quick brown fox jumps over ({i})" for i in range(10)],
        method="exact_match",
        reference="the quick brown fox jumps over",
    )
    assert references.check_copied_references(long_exact)[0].status == "warn"


def test_content_fingerprint_does_not_depend_on_the_hashing_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = _content()
    monkeypatch.setattr("evaluator.content._CHUNK", 7)  # 40 rows in 6 chunks
    assert _content() == whole
