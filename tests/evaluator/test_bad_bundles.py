"""Every bad bundle in the corpus is rejected with its own code, and only with a BundleError."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from badbundles import CASES, BadCase

from evaluator.engine import evaluate
from evaluator.errors import CODES, BundleError
from evaluator.limits import DEFAULT_LIMITS
from evaluator.types import Dataset


def test_corpus_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 40
    duplicates = [name for name, count in Counter(c.name for c in CASES).items() if count > 1]
    assert not duplicates


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_bundle_is_rejected_with_its_code(
    case: BadCase,
    valid_bundle: Path,
    corpus_dataset: Dataset,
    trusted_keys: dict[str, bytes],
    tmp_path: Path,
) -> None:
    assert case.expected_code in CODES, f"{case.expected_code} is not a registered code"
    bad = case.build(valid_bundle, tmp_path)
    with pytest.raises(BundleError) as raised:
        evaluate(
            bad,
            corpus_dataset,
            trusted_keys=trusted_keys,
            limits=case.limits or DEFAULT_LIMITS,
            workdir=tmp_path,
        )
    error = raised.value
    assert error.code == case.expected_code, str(error)
    assert error.message  # a person can act on it
    # The unpack directory is cleaned up even on rejection.
    assert not any(p.name.startswith("ipwb-") for p in tmp_path.iterdir())


def test_optional_column_errors_name_the_column_and_row(
    valid_bundle: Path,
    corpus_dataset: Dataset,
    trusted_keys: dict[str, bytes],
    tmp_path: Path,
) -> None:
    """Each rule of the optional per-query columns has a case, and its error says where."""
    from badbundles.cases_optional import EXPECTED_WHERE

    from evaluator.bundle.tables import OPTIONAL_QUERY_NAMES

    cases = [c for c in CASES if c.name in EXPECTED_WHERE]
    assert {c.expected_code for c in cases} == {
        "bundle.queries.optional_invalid",
        "bundle.queries.phase_energy",
        "bundle.queries.non_finite",
        "bundle.queries.schema",
    }
    assert {f"optional_{n}_negative" for n in OPTIONAL_QUERY_NAMES} <= {c.name for c in cases}
    for case in cases:
        with pytest.raises(BundleError) as raised:
            evaluate(case.build(valid_bundle, tmp_path), corpus_dataset, trusted_keys=trusted_keys)
        error, (field, row) = raised.value, EXPECTED_WHERE[case.name]
        assert (error.code, error.field, error.row) == (case.expected_code, field, row), case.name
        assert error.file == "queries.parquet" and field in error.message, error.message
        if row is not None:
            assert f"row {row}" in error.message, error.message


def test_the_valid_bundle_itself_passes(
    valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    result = evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert result.metrics.n_queries == len(corpus_dataset.items)
