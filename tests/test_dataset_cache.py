"""The worker's loaded datasets are bounded by items: a big version evicts the others first."""

from __future__ import annotations

from typing import Any

import pytest

from submissions.services import catalog


@pytest.fixture(autouse=True)
def _empty_cache() -> Any:
    catalog._loaded.clear()
    yield
    catalog._loaded.clear()


def test_versions_are_reused_until_the_item_budget_is_spent(
    demo_version: Any, mixed_version: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget = demo_version.item_count + mixed_version.item_count
    monkeypatch.setattr(catalog, "MAX_CACHED_ITEMS", budget)
    demo = catalog.engine_dataset(demo_version)
    mixed = catalog.engine_dataset(mixed_version)
    assert catalog.engine_dataset(demo_version) is demo  # both fit: both stay loaded
    assert catalog.engine_dataset(mixed_version) is mixed

    monkeypatch.setattr(catalog, "MAX_CACHED_ITEMS", budget - 1)
    catalog._loaded.clear()
    demo = catalog.engine_dataset(demo_version)
    catalog.engine_dataset(mixed_version)  # does not fit beside demo: demo is dropped first
    assert len(catalog._loaded) == 1
    again = catalog.engine_dataset(demo_version)
    assert again is not demo and again.sha256 == demo.sha256
    assert len(catalog._loaded) == 1
