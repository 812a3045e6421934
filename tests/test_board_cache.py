"""The board's response caches: what is cached, for whom, and when it is retired.

Chart pages, badges, methodology and the leaderboard API are cached under the board version; a
scored submission must retire them all, anonymous visitors and signed-in users must never see each
other's cached responses, and a version bump must not make every request rebuild at once.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipwboard.board import charts, pagecache
from ipwboard.board.pairs import PairKey
from ipwboard.board.receivers import bump
from tests.browser.boarddata import build_board
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

NEW_PAIR: tuple[str, str, str, str, dict[str, Any]] = (
    "demo/heron-8b",
    "Demo Laptop SoC",
    "2025-09-01",
    "q4_k_m",
    {},
)
NEW_KEY = PairKey("demoheron-8b", "demo-laptop-soc", "ipwboard-demo", "1", "soc")


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture
def board(alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Any]:
    return build_board(alice, alice_key, demo_version, make_bundle)


def _get(client: Any, url: str, **headers: Any) -> Any:
    response = client.get(url, **headers)
    assert response.status_code in (200, 404), (url, response.status_code)
    return response


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    return len(captured)


def _urls(board: list[Any]) -> list[str]:
    key = PairKey.of(board[0])
    other = PairKey.of(board[5])
    return [
        "/trends/",
        "/trends/?dataset=ipwboard-demo@1&scope=soc&axis=measured",
        key.url(),
        f"{key.url()}?run={board[0].pk}",
        f"/compare/?pairs={key.token},{other.token}",
        "/methodology/",
        "/models/demoheron-8b/",
        "/hardware/demo-laptop-soc/",
        "/",
        "/api/v1/leaderboard/?scope=soc",
    ]


def test_chart_pages_and_api_are_cached_for_anonymous_visitors(
    board: list[Any], anonymous: Persona
) -> None:
    for url in [*_urls(board), PairKey.of(board[0]).badge_url()]:
        first = _get(anonymous.client, url)
        catalog_row = 1 if url.startswith(("/models/", "/hardware/")) else 0
        assert _queries(anonymous.client, url) == catalog_row, url
        again = _get(anonymous.client, url)
        assert again.content == first.content, url
        assert again["Content-Type"] == first["Content-Type"], url
    badge = _get(anonymous.client, PairKey.of(board[0]).badge_url())
    assert badge["Content-Security-Policy"] == "default-src 'none'"  # headers survive the cache
    # the htmx drill-down fragment is not the page, and the page is not the fragment
    url = f"{PairKey.of(board[0]).url()}?wrong=1"
    page = _get(anonymous.client, url).content.decode()
    fragment = _get(
        anonymous.client, url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="drilldown"
    ).content.decode()
    assert "<html" in page and "<html" not in fragment
    assert "<html" in _get(anonymous.client, url).content.decode()


def test_caches_are_invalidated_when_a_submission_is_scored(
    board: list[Any],
    alice: Persona,
    alice_key: Any,
    demo_version: Any,
    make_bundle: Any,
    anonymous: Persona,
) -> None:
    existing = PairKey.of(board[5])
    compare = f"/compare/?pairs={NEW_KEY.token},{existing.token}"
    checks: dict[str, tuple[str, bool]] = {  # url -> (text, present only after the new result)
        "/trends/?dataset=ipwboard-demo@1&scope=soc": ("demo/heron-8b on Demo Laptop SoC", True),
        "/api/v1/leaderboard/?scope=soc": ('"model":"demo/heron-8b"', True),
        "/hardware/demo-laptop-soc/": ("demo/heron-8b", True),
        "/models/demoheron-8b/": ("Demo Laptop SoC", True),
        compare: ("no ranked result any more", False),
        NEW_KEY.badge_url(): ("not ranked", False),
    }
    before = {url: _get(anonymous.client, url) for url in checks}
    for url, (text, added) in checks.items():
        assert (text in before[url].content.decode()) != added, url
    assert _get(anonymous.client, NEW_KEY.url()).status_code == 404
    assert _get(anonymous.client, NEW_KEY.badge_url()).status_code == 404  # now cached

    build_board(alice, alice_key, demo_version, make_bundle, (NEW_PAIR,))

    for url, (text, added) in checks.items():
        response = _get(anonymous.client, url)
        assert response.status_code == 200, url
        assert (text in response.content.decode()) == added, url
    assert "demo/heron-8b" in _get(anonymous.client, NEW_KEY.url()).content.decode()


def test_anonymous_and_signed_in_users_never_share_cached_pages(
    board: list[Any], alice: Persona, bob: Persona, anonymous: Persona
) -> None:
    whose = '<span class="who">'
    for url in _urls(board):
        if url.startswith("/api/"):
            continue
        # a signed-in user first: nothing of theirs may reach the anonymous visitor or bob
        cache.clear()
        assert f"{whose}alice</span>" in _get(alice.client, url).content.decode(), url
        anon = _get(anonymous.client, url).content.decode()
        assert whose not in anon and "Log out" not in anon and "Log in" in anon, url
        assert "alice</span>" not in _get(bob.client, url).content.decode(), url
        # the anonymous visitor first: the signed-in user still gets their own page
        cache.clear()
        _get(anonymous.client, url)
        _get(anonymous.client, url)
        mine = _get(alice.client, url).content.decode()
        assert f"{whose}alice</span>" in mine and "Log out" in mine, url
        assert "Log in" not in _get(bob.client, url).content.decode().split("<main", 1)[0], url
    # the API's rows are public and the same for everyone (and no session data is in them)
    rows = _get(alice.api, "/api/v1/leaderboard/?scope=soc").json()
    assert _get(anonymous.api, "/api/v1/leaderboard/?scope=soc").json() == rows


def test_signed_in_responses_are_not_cached(board: list[Any], alice: Persona) -> None:
    url = PairKey.of(board[0]).url()
    _get(alice.client, url)
    assert _queries(alice.client, url) > 0  # rebuilt (around the cached per-evaluation charts)


def test_api_cache_keeps_content_negotiation(board: list[Any], anonymous: Persona) -> None:
    url = "/api/v1/leaderboard/?scope=soc"
    as_json = _get(anonymous.client, url, HTTP_ACCEPT="application/json")
    assert as_json["Content-Type"] == "application/json"
    browsable = _get(anonymous.client, url, HTTP_ACCEPT="text/html")
    assert browsable["Content-Type"].startswith("text/html")
    again = _get(anonymous.client, url, HTTP_ACCEPT="application/json")
    assert again.json() == as_json.json() and len(again.json()) == 2


def test_a_version_bump_rebuilds_once_and_serves_the_previous_value_meanwhile() -> None:
    built: list[int] = []

    def build() -> str:
        built.append(1)
        return f"value {len(built)}"

    assert pagecache.versioned("t", "x", build) == "value 1"
    assert pagecache.versioned("t", "x", build) == "value 1" and len(built) == 1
    bump()
    # another request holds the rebuild lock: the previous value is served, nothing is rebuilt
    digest = __import__("hashlib").sha256(b"x").hexdigest()[:32]
    from ipwboard.board.receivers import board_version

    lock = f"board:t:lock:{board_version()}:{digest}"
    assert cache.add(lock, 1, 30)
    assert pagecache.versioned("t", "x", build) == "value 1" and len(built) == 1
    cache.delete(lock)
    # the lock is free: this request rebuilds, and releases the lock
    assert pagecache.versioned("t", "x", build) == "value 2"
    assert cache.add(lock, 1, 30)
    # no previous value at all: build rather than fail, even when the lock is taken
    assert pagecache.versioned("t", "other", build) == "value 3"


def test_a_strict_bump_never_serves_what_was_cached_before() -> None:
    """After a removal (strict bump) even the stale copy served during a rebuild is gone."""
    from ipwboard.board.receivers import board_version

    built: list[int] = []

    def build() -> str:
        built.append(1)
        return f"value {len(built)}"

    assert pagecache.versioned("t", "s", build) == "value 1"
    bump(strict=True)
    digest = __import__("hashlib").sha256(b"s").hexdigest()[:32]
    assert cache.add(f"board:t:lock:{board_version()}:{digest}", 1, 30)  # someone is rebuilding
    assert pagecache.versioned("t", "s", build) == "value 2"  # built, not the stale "value 1"
    bump()  # an ordinary bump: what was built after the strict one may be served meanwhile
    assert cache.add(f"board:t:lock:{board_version()}:{digest}", 1, 30)
    assert pagecache.versioned("t", "s", build) == "value 2"


def test_additions_are_coalesced_and_removals_are_immediate(
    board: list[Any],
    alice: Persona,
    alice_key: Any,
    demo_version: Any,
    make_bundle: Any,
    staff: Persona,
    anonymous: Persona,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With IPWBOARD_BOARD_REFRESH_SECONDS a scored submission reaches the cached pages within
    that many seconds (one rebuild for all changes meanwhile); a hidden one leaves them at once."""
    from ipwboard.board import receivers
    from submissions import services

    settings.IPWBOARD_BOARD_REFRESH_SECONDS = 5
    now = [1_000_000.0]
    monkeypatch.setattr(receivers.time, "time", lambda: now[0])
    url = "/?scope=soc"
    assert "demo/heron-8b" not in _get(anonymous.client, url).content.decode()
    build_board(alice, alice_key, demo_version, make_bundle, (NEW_PAIR,))
    assert "demo/heron-8b" not in _get(anonymous.client, url).content.decode()  # cached, < 5 s
    now[0] += 5
    assert "demo/heron-8b" in _get(anonymous.client, url).content.decode()  # due: applied
    assert "demo/condor-70b" in _get(anonymous.client, "/").content.decode()
    services.moderate_submission(board[3], staff.user, "hide")  # condor-70b's only submission
    assert "demo/condor-70b" not in _get(anonymous.client, "/").content.decode()  # no waiting


def test_a_failed_rebuild_releases_the_lock() -> None:
    def boom() -> str:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        pagecache.versioned("t", "y", boom)
    assert pagecache.versioned("t", "y", lambda: "ok") == "ok"


def test_figures_carry_the_template_and_valid_json() -> None:
    # Histograms are drawn from the worker's bins now (tests/test_chart_bins.py); a NaN can still
    # reach a figure through an aggregate, as here.
    chart = charts.compare_metric(
        ["a on b", "c on d", "e on f"], [1.0, math.nan, 3.0], "h", "E", "J"
    )
    figure = json.loads(chart.json)
    assert figure["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
    assert figure["layout"]["yaxis"] == {"title": {"text": "E (J)"}, "rangemode": "tozero"}
    assert figure["data"][0]["y"][1] is None  # NaN is not JSON
    bar = charts.compare_metric(["</script> on x", "b on c"], [1.0, 2.0], "c", "IPW", "/W")
    assert "</" not in bar.json and "<br>" not in bar.json  # escaped for the script block
    assert json.loads(bar.json)["data"][0]["x"][0] == "&lt;/script&gt;<br>on x"
