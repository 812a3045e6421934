"""/reasoning/ in a real browser (Debian's Chromium via Playwright) at desktop and phone widths:
reached from the methodology page, every chart drawn, no console errors, no sideways scrolling on
a phone; full-page screenshots under ``test-output/screenshots/`` for a person to look at.
"""

from __future__ import annotations

from typing import Any

import pytest

from submissions.models import Evaluation
from tests.browser.boarddata import build_board
from tests.browser.test_board_browser import DESKTOP, PHONE, SHOTS, Page, browser  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def board(alice: Any, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Any]:
    from django.core.cache import cache

    cache.clear()
    from evaluator.metrics import MEAN_COLUMNS

    submitted = build_board(alice, alice_key, demo_version, make_bundle)
    Evaluation.objects.update(**dict.fromkeys(MEAN_COLUMNS))  # each run below says what it reports
    agentic = submitted[3]
    agentic.ranking_class = "accelerator-agentic"  # as an `ipw run` result is classed
    agentic.save()
    means: dict[int, dict[str, float]] = {
        2: {"mean_reasoning_tokens": 0.0},  # a non-thinking run: reports zero
        3: {"mean_reasoning_tokens": 3800.0, "mean_tool_calls": 4.2, "mean_turns": 6.0},
        4: {"mean_reasoning_tokens": 650.0},
        5: {"mean_reasoning_tokens": 120.0},
        6: {"mean_reasoning_tokens": 812.5},
    }  # heron-8b (0 and 1) reports none: counted, not plotted
    for index, values in means.items():
        Evaluation.objects.filter(pk=submitted[index].current_evaluation_id).update(**values)
    cache.clear()
    return submitted


def _drawn(page: Any, n: int) -> int:
    page.wait_for_function(
        f"document.querySelectorAll('.chart[data-drawn] .main-svg').length >= {n}"
    )
    return page.locator(".chart[data-drawn]").count()


def test_reasoning_page_desktop_and_phone(live_server: Any, board: Any, browser: Any) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    desktop = Page(browser, DESKTOP)
    page = desktop.page
    page.goto(live_server.url + "/methodology/#reasoning")
    page.get_by_role("link", name="The reasoning charts").click()
    page.wait_for_url("**/reasoning/")
    assert page.locator("h1").inner_text() == "Reasoning and tools"
    # accelerator, SoC, and the agentic ranking's reasoning and tool-call charts
    assert _drawn(page, 4) == 4
    assert page.locator("section.reasoning-ranking").count() == 3
    counts = page.locator(".reasoning-counts").all_inner_texts()
    assert counts[0].startswith("2 of 3 pairs report reasoning tokens.")
    assert counts[2].startswith("1 of 1 pair reports reasoning tokens; 1 reports tool calls.")
    assert "Demo data." in page.locator(".synthetic-note").inner_text()
    page.screenshot(path=str(SHOTS / "reasoning-desktop.png"), full_page=True)
    desktop.close()
    assert not desktop.errors, desktop.errors

    phone = Page(browser, PHONE)
    page = phone.page
    page.goto(live_server.url + "/reasoning/")
    assert _drawn(page, 4) == 4
    page.locator("section.reasoning-ranking").last.locator("summary").click()  # the figures
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SHOTS / "reasoning-phone.png"), full_page=True)
    page.locator("section.reasoning-ranking").last.screenshot(
        path=str(SHOTS / "reasoning-phone-agentic.png")
    )
    phone.close()
    assert not phone.errors, phone.errors
