"""The agentic track's page and the pair page's new figures (issue 14) in a real browser (Debian's
Chromium via Playwright), at phone and desktop widths: reached from the navigation, no console
errors, no sideways scrolling; full-page screenshots under ``test-output/screenshots/`` for a
person to look at.
"""

from __future__ import annotations

from typing import Any

import pytest

from ipwboard.board.pairs import PairKey
from submissions.models import Evaluation
from tests.browser.boarddata import SPECS, build_board
from tests.browser.test_board_browser import DESKTOP, PHONE, SHOTS, Page, browser  # noqa: F401
from tests.test_catalog_server import run
from tests.test_columns import MEANS, NONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def board(alice: Any, alice_key: Any, demo_version: Any, make_bundle: Any) -> dict[str, Any]:
    from django.core.cache import cache

    cache.clear()
    reporting, silent = build_board(alice, alice_key, demo_version, make_bundle, SPECS[5:])

    def agentic_run(manifest: dict[str, Any]) -> None:
        manifest["workload"] = {"kind": "agentic", "agent": "demo-agent"}

    agentic = [
        run(
            alice,
            make_bundle(demo_version, alice_key, model=m, seed=s, mutate_manifest=agentic_run),
        )
        for m, s in (("demo/heron-8b", 61), ("demo/condor-70b", 62))
    ]
    figures = {
        reporting: MEANS,
        silent: NONE,
        agentic[0]: {**MEANS, "mean_turns": 6.5, "mean_tool_calls": 4.25, "mean_tool_s": 1.5},
        agentic[1]: {**MEANS, "mean_turns": 3.0, "mean_tool_calls": 1.0, "mean_tool_s": 0.25},
    }
    for submission, values in figures.items():
        Evaluation.objects.filter(pk=submission.current_evaluation_id).update(**values)
    cache.clear()
    return {"reporting": reporting, "silent": silent, "agentic": agentic}


def _no_sideways_scroll(page: Any, name: str) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"{name} overflows by {overflow}px"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_agentic_page_and_new_pair_figures(
    live_server: Any,
    board: dict[str, Any],
    browser: Any,  # noqa: F811
    viewport: str,
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    view = Page(browser, PHONE if viewport == "phone" else DESKTOP)
    page = view.page
    try:
        page.goto(live_server.url + "/")
        page.locator("header.site nav a", has_text="Agentic").click()
        page.wait_for_url("**/agentic/")
        assert page.locator("h1").inner_text() == "Agentic track"
        names = page.locator("#board-table tbody th.name > a").all_inner_texts()
        assert sorted(names) == ["demo/condor-70b", "demo/heron-8b"]  # no single-turn pair
        header = page.locator("#board-table thead").inner_text()
        assert "Turns / task" in header and "Energy / task" in header
        # Sort by turns per task, fewest first, through the header link (an htmx swap).
        page.locator("#board-table thead a", has_text="Turns / task").click()
        page.wait_for_url("**/agentic/?sort=turns")
        page.wait_for_load_state("networkidle")
        names = page.locator("#board-table tbody th.name > a").all_inner_texts()
        assert names == ["demo/condor-70b", "demo/heron-8b"]
        _no_sideways_scroll(page, "agentic")
        page.screenshot(path=str(SHOTS / f"agentic-{viewport}.png"), full_page=True)

        page.goto(live_server.url + PairKey.of(board["reporting"]).url())
        page.wait_for_selector(".js-plotly-plot")
        figures = page.locator("#measurements ~ dl.figures").all_inner_texts()
        text = " ".join(figures)
        assert "Input tokens" in text and "412" in text and "Reasoning tokens" in text
        assert "Prefill energy" in text and "Tool calls / task" in text
        drill = page.locator("#drilldown thead").inner_text()
        assert "Input tokens" in drill
        _no_sideways_scroll(page, "pair")
        page.screenshot(path=str(SHOTS / f"pair-new-figures-{viewport}.png"), full_page=True)
        # Screen-sized views of the headline, the new figures and the drill-down, to look at.
        page.screenshot(path=str(SHOTS / f"pair-new-figures-{viewport}-1-top.png"))
        for n, anchor in ((2, "#measurements"), (3, "#queries")):
            page.locator(anchor).scroll_into_view_if_needed()
            page.evaluate(f"document.querySelector('{anchor}').scrollIntoView()")
            page.screenshot(path=str(SHOTS / f"pair-new-figures-{viewport}-{n}-{anchor[1:]}.png"))

        page.goto(live_server.url + PairKey.of(board["silent"]).url())
        page.wait_for_selector(".js-plotly-plot")
        assert "Not reported by this run: Input tokens" in page.locator("main").inner_text()
        _no_sideways_scroll(page, "pair-not-reported")
        page.screenshot(path=str(SHOTS / f"pair-not-reported-{viewport}.png"), full_page=True)
        assert not view.errors, view.errors
    finally:
        view.close()
