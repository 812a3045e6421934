"""Real catalog models on the release-date trend chart, in a real browser (issue 11).

Before the catalog, a submitted "llama3.2:1b" had no release date, so the trend chart by model
release date could not place a single real submission. Measured runs of two catalog models on a
catalog H100 must now appear on it, at their models' release dates.
"""

from __future__ import annotations

from typing import Any

import pytest

from evaluator.catalog import load_catalog
from submissions import services
from submissions.models import Submission
from tests.browser.test_board_browser import DESKTOP, SHOTS, Page, browser  # noqa: F401
from tests.test_catalog_server import build, measured, run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_catalog_models_are_placed_on_the_release_date_trend(
    live_server: Any,
    browser: Any,  # noqa: F811
    tmp_path: Any,
    alice: Any,
    alice_key: Any,
    staff: Any,
    demo_version: Any,
) -> None:
    from django.core.cache import cache

    cache.clear()
    catalog = load_catalog()
    expected = {}
    for seed, tag in ((11, "llama3.2:1b"), (12, "qwen3:4b")):
        submission = run(
            alice, build(tmp_path, demo_version, alice_key, seed=seed, change=measured(model=tag))
        )
        assert submission.status == Submission.Status.SCORED and not submission.catalog_pending
        services.moderate_submission(submission, staff.user, "approve")  # short demo run: held
        entry = catalog.resolve_model(tag).entry
        expected[entry.name] = entry.release_date

    page = Page(browser, DESKTOP)
    try:
        url = f"{live_server.url}/trends/?dataset={demo_version.dataset.slug}@{demo_version.version}&scope=accelerator"
        page.page.goto(url)
        page.page.wait_for_selector(".js-plotly-plot")
        points = page.page.evaluate(
            """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
                 .filter(el => /release/i.test(JSON.stringify(el.layout.xaxis.title || '')))
                 .flatMap(el => el.data.flatMap(t =>
                   (t.text || []).map((s, i) => [String(s), String(t.x[i])])))"""
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(SHOTS / "trends-catalog-desktop.png"), full_page=True)
        assert not page.errors, page.errors
    finally:
        page.close()
    placed = {name: x for text, x in points for name in expected if name in text}
    assert set(placed) == set(expected), points
    for name, released in expected.items():
        assert placed[name].startswith(released[:7]), (name, placed[name], released)
