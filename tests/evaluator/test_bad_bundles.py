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


def test_the_valid_bundle_itself_passes(
    valid_bundle: Path, corpus_dataset: Dataset, trusted_keys: dict[str, bytes]
) -> None:
    result = evaluate(valid_bundle, corpus_dataset, trusted_keys=trusted_keys)
    assert result.metrics.n_queries == len(corpus_dataset.items)
