"""The board in a real browser: Playwright driving Debian's Chromium against a live server.

Covers filtering, sorting, permalinks, the back button, the pair drill-down, compare, charts and
console errors, and saves full-page screenshots (desktop and phone) of every page under
``test-output/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.boarddata import build_board

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

if not CHROMIUM.exists():
    if os.environ.get("IPWBOARD_REQUIRE_BROWSER") == "1":
        raise RuntimeError("IPWBOARD_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
    pytest.skip(
        "/usr/bin/chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it
# are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


class Page:
    """A page that records console errors and failed requests."""

    def __init__(self, browser: Any, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda msg: self.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on(
            "response",
            lambda r: self.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None,
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def board(alice: Any, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Any]:
    from django.core.cache import cache

    # The cache outlives each test's database (board caches, the API's upload throttle).
    cache.clear()
    return build_board(alice, alice_key, demo_version, make_bundle)


@pytest.fixture
def desktop(browser: Any) -> Iterator[Page]:
    page = Page(browser, DESKTOP)
    yield page
    page.close()
    assert not page.errors, page.errors


def names(page: Any) -> list[str]:
    return page.locator("#board-table tbody th.name > a").all_inner_texts()


def wait_swap(page: Any, pattern: str) -> None:
    page.wait_for_url(re.compile(pattern))
    page.wait_for_load_state("networkidle")


def test_filter_sort_permalink_and_back(live_server: Any, board: Any, desktop: Page) -> None:
    page = desktop.page
    page.goto(live_server.url + "/")
    assert page.locator("section.ranking").count() == 2  # accelerator and SoC, ranked apart
    everything = names(page)
    assert len(everything) == 6  # best per pair: the second heron-8b run is folded in

    page.select_option("#f-scope", "soc")
    wait_swap(page, r"\?scope=soc$")
    assert sorted(names(page)) == ["demo/sparrow-1b", "demo/sparrow-3b"]
    assert page.locator("section.ranking").count() == 1

    page.select_option("#f-scope", "")
    wait_swap(page, r"/$")
    page.locator("#board-table thead a", has_text="Accuracy").first.click()
    wait_swap(page, r"sort=accuracy")
    cells = page.locator("section.ranking").first.locator("tbody tr td:nth-child(6)")
    accuracies = [float(t.split("%")[0]) for t in cells.all_inner_texts()]
    assert accuracies == sorted(accuracies, reverse=True)
    page.locator("#board-table thead a", has_text="Accuracy").first.click()
    wait_swap(page, r"dir=asc")
    cells = page.locator("section.ranking").first.locator("tbody tr td:nth-child(6)")
    accuracies = [float(t.split("%")[0]) for t in cells.all_inner_texts()]
    assert accuracies == sorted(accuracies)

    # A filter after a sort keeps the sort (the form's hidden sort inputs follow the table).
    page.fill("#f-q", "heron")
    wait_swap(page, r"q=heron.*sort=accuracy&dir=asc")
    filtered = names(page)
    assert filtered and all("heron" in name for name in filtered)

    # Permalink: the pushed URL, opened in a fresh page, shows the same rows.
    fresh = desktop.context.new_page()
    fresh.goto(page.url)
    assert names(fresh) == filtered
    assert fresh.locator("#f-q").input_value() == "heron"
    fresh.close()

    # Back restores the previous state, form and table alike.
    page.go_back()
    wait_swap(page, r"sort=accuracy&dir=asc$")
    expect(page.locator("#f-q")).to_have_value("")
    expect(page.locator("#board-table tbody th.name")).to_have_count(6)
    page.go_forward()
    wait_swap(page, r"q=heron")
    expect(page.locator("#f-q")).to_have_value("heron")
    expect(page.locator("#board-table tbody th.name")).to_have_count(len(filtered))


def test_plain_links_work_without_javascript(live_server: Any, board: Any, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.locator("#board-table thead a", has_text="IPW").first.click()
    page.wait_for_url(re.compile(r"dir=asc"))
    page.select_option("#f-hw-class", "cloud")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r"hw_class=cloud"))
    assert "hw_class=cloud" in page.url and "dir=asc" in page.url
    assert sorted(names(page)) == ["demo/condor-70b", "demo/sparrow-3b"]
    context.close()


def test_pair_page_drilldown_and_charts(live_server: Any, board: Any, desktop: Page) -> None:
    page = desktop.page
    page.goto(live_server.url + "/?scope=accelerator")
    page.locator("#board-table tbody th.name a", has_text="demo/heron-8b").first.click()
    page.wait_for_url(re.compile(r"/pairs/.+/accelerator/$"))
    page.wait_for_selector(".js-plotly-plot")
    # domains, energy, latency, trace and the history of its two submissions
    assert page.locator(".js-plotly-plot").count() == 5
    total = page.locator("#drilldown tbody tr").count()
    assert total == 25  # first page of 60 queries

    page.check("#q-wrong")
    wait_swap(page, r"wrong=1")
    statuses = page.locator("#drilldown tbody .status").all_inner_texts()
    assert statuses and all("wrong" in s for s in statuses)

    domain = page.locator("#q-domain option").nth(1).get_attribute("value")
    page.select_option("#q-domain", domain)
    wait_swap(page, r"wrong=1&domain=")
    domains = page.locator("#drilldown tbody td:nth-child(2)").all_inner_texts()
    assert all(d == domain for d in domains)

    # The badge is a real SVG image.
    assert page.locator("#embed ~ p img").evaluate("img => img.naturalWidth") > 50


def test_no_trace_is_said(live_server: Any, board: Any, desktop: Page) -> None:
    page = desktop.page
    page.goto(live_server.url + "/?hw_class=cloud")
    page.locator("#board-table tbody th.name a", has_text="demo/sparrow-3b").click()
    page.wait_for_selector(".js-plotly-plot")
    assert "No trace" in page.locator("main").inner_text()


def test_compare_from_leaderboard(live_server: Any, board: Any, desktop: Page) -> None:
    page = desktop.page
    page.goto(live_server.url + "/")
    boxes = page.locator("#board-table tbody input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_role("button", name=re.compile("Compare selected")).click()
    page.wait_for_url(re.compile(r"/compare/\?pairs=.+&pairs=.+"))
    page.wait_for_selector(".js-plotly-plot")
    assert page.locator("table.compare thead th").count() == 3  # label column + two pairs
    assert page.locator(".js-plotly-plot").count() >= 5
    # Remove one pair: back to the picker, which says what to do.
    page.locator(".chip a").first.click()
    page.wait_for_url(re.compile(r"/compare/\?pairs=[^&]+$"))
    assert "Pick at least two pairs" in page.locator("main").inner_text()


def _pages(board: list[Any]) -> list[tuple[str, str, bool]]:
    """(name, path, has charts) of every page, for screenshots and the console check."""
    from ipwboard.board.pairs import PairKey

    heron = PairKey.of(board[0])
    moe = PairKey.of(board[2])
    soc = PairKey.of(board[5])
    return [
        ("leaderboard", "/", False),
        ("leaderboard-filtered", "/?scope=accelerator&sort=energy", False),
        ("leaderboard-empty", "/?q=no-such-model", False),
        ("pair", heron.url(), True),
        ("pair-wrong-only", heron.url() + "?wrong=1", True),
        ("compare", f"/compare/?pairs={heron.token},{moe.token},{soc.token}", True),
        ("compare-empty", "/compare/", False),
        ("trends", "/trends/", True),
        ("model", f"/models/{heron.model}/", False),
        ("hardware", f"/hardware/{heron.hardware}/", False),
        ("methodology", "/methodology/", False),
        ("submission", f"/submissions/{board[0].pk}/", False),
    ]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_every_page_renders_without_errors(
    live_server: Any, board: Any, browser: Any, viewport: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = DESKTOP if viewport == "desktop" else PHONE
    page = Page(browser, size)
    try:
        for name, path, has_charts in _pages(board):
            page.page.goto(live_server.url + path)
            page.page.wait_for_load_state("networkidle")
            if has_charts:
                page.page.wait_for_selector(".js-plotly-plot")
                drawn = page.page.locator(".js-plotly-plot").count()
                assert drawn == page.page.locator("[data-chart]").count(), name
            # Wide tables scroll inside their wrapper; the page itself never scrolls sideways.
            overflow = page.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name} overflows by {overflow}px at {size['width']}px"
            page.page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)
        assert not page.errors, page.errors
    finally:
        page.close()
