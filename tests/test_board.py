"""The public board's pages, server side: ranking contexts, filters, sorting, htmx fragments,
fixed query counts, caching, the pair page, compare, trends, methodology, badges and escaping.

Data goes through the real pipeline (upload -> process_submission), see tests/browser/boarddata.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipwboard.board import queries, readmodel, trends, vocab
from ipwboard.board.columns import sorts
from ipwboard.board.models import BoardEntry
from ipwboard.board.pairs import PairKey
from ipwboard.board.state import BoardQuery
from submissions.models import Submission
from tests.browser.boarddata import SPECS, build_board
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # The cache outlives each test's rolled-back transaction; start every test from nothing.
    cache.clear()


@pytest.fixture
def board(alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Any]:
    return build_board(alice, alice_key, demo_version, make_bundle)


def names(query: BoardQuery) -> list[str]:
    return [row["model"] for row in queries.board_page(query).rows]


def html(client: Any, url: str, **headers: Any) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


# --- ranking ----------------------------------------------------------------------------------


def test_rankings_never_mix_measurement_scopes(board: list[Any]) -> None:
    page = queries.board_page(BoardQuery())
    assert [(g.scope, g.total) for g in page.groups] == [("accelerator", 4), ("soc", 2)]
    for group in page.groups:
        assert group.rows[0]["rank"] == 1  # each context has its own first place
        ipws = [row["ipw"] for row in group.rows]
        assert ipws == sorted(ipws, reverse=True)
    # best per pair: heron-8b on the workstation was submitted twice but shows once, its best run
    heron = [r for r in page.rows if r["model"] == "demo/heron-8b"]
    assert len(heron) == 1
    assert heron[0]["ipw"] == max(s.current_evaluation.ipw for s in board[:2])
    assert len(queries.board_page(BoardQuery(show_all=True)).rows) == len(SPECS)


def _entries() -> list[tuple[Any, ...]]:
    return sorted(BoardEntry.objects.values_list("evaluation_id", "best", "measured", "ipw"))


def test_read_model_follows_every_write(board: list[Any], staff: Persona, alice: Persona) -> None:
    """The ranked rows come from BoardEntry, kept up to date by each write in its own transaction:
    after every kind of write it equals a rebuild from the source tables."""
    from submissions import services

    def check() -> None:
        kept = _entries()
        readmodel.rebuild()
        assert kept == _entries()

    check()
    heron = [s.current_evaluation for s in board[:2]]  # one pair, two submissions
    winner, runner_up = sorted(heron, key=lambda e: queries.headline_key(e.ipw, e.created_at, e.pk))
    assert BoardEntry.objects.get(pk=winner.pk).best
    assert not BoardEntry.objects.get(pk=runner_up.pk).best
    # hiding a pair's best makes its other submission the pair's row, at once (no commit needed)
    services.moderate_submission(winner.submission, staff.user, "hide")
    assert not BoardEntry.objects.filter(pk=winner.pk).exists()
    assert BoardEntry.objects.get(pk=runner_up.pk).best
    check()
    services.moderate_submission(winner.submission, staff.user, "restore")
    assert BoardEntry.objects.get(pk=winner.pk).best
    check()
    services.moderate_submission(board[5], staff.user, "deny")
    assert not BoardEntry.objects.filter(submission=board[5]).exists()
    check()
    services.withdraw_submission(board[6], alice.user)
    assert not BoardEntry.objects.filter(submission=board[6]).exists()
    check()
    Submission.objects.get(pk=winner.submission_id).delete()
    assert BoardEntry.objects.get(pk=runner_up.pk).best
    check()


def test_best_per_pair_among_the_rows_a_filter_keeps(board: list[Any]) -> None:
    """A filter on something a pair's submissions differ in (here the measurement date) ranks the
    best of the pair's matching submissions, not the pair's overall best."""
    first, second = (s.current_evaluation_id for s in board[:2])  # heron-8b, Dec 2024 / Mar 2025
    for params, expected in (({"to": "2024-12-31"}, first), ({"from": "2025-01-01"}, second)):
        query = BoardQuery.from_params(params)
        rows = queries.board_page(query).rows
        assert [r["pk"] for r in rows if r["model"] == "demo/heron-8b"] == [expected]
        assert expected in set(queries.filtered(query).values_list("pk", flat=True))
    # Picked in SQL among the matching entries, by the same order as the read model's best:
    # a filter that narrows within pairs but keeps every row picks exactly those.
    everything = BoardQuery.from_params({"from": "1900-01-01"})
    assert queries.narrows_within_pairs(everything)
    picked = {row[0] for row in queries._light_rows(everything)}
    assert picked == set(BoardEntry.objects.filter(best=True).values_list("pk", flat=True))


@pytest.mark.parametrize("params", [{}, {"all": "1"}, {"scope": "accelerator"}, {"vendor": "x"}])
def test_ipw_order_reads_only_the_rows_a_page_needs(
    board: list[Any], monkeypatch: pytest.MonkeyPatch, params: dict[str, str]
) -> None:
    """In IPW order a page reads the first rows of each context only; every page (one row per
    page here, so ties straddle page boundaries) is the same as when every row is read."""

    def shown(query: BoardQuery) -> Any:
        page = queries.board_page(query)
        groups = [
            (g.scope, g.total, [(r["pk"], r["rank"], r["tied"]) for r in g.rows])
            for g in page.groups
        ]
        return groups, page.pages, page.total

    monkeypatch.setattr(queries, "PER_PAGE", 1)
    monkeypatch.setattr(queries, "OVERVIEW_PER_PAGE", 1)
    for number in range(1, 5):
        query = BoardQuery.from_params({**params, "page": str(number)})
        top = queries._top_rows(query, number + 1)
        assert top is not None and all(len(r) == 8 for r in top[0])
        fast = shown(query)
        with monkeypatch.context() as every_row:
            every_row.setattr(queries, "_top_rows", lambda query, top: None)
            assert shown(query) == fast, number


def test_ties_share_a_rank() -> None:
    rows = [(1, 1, "a", 10.0, 9.0, 11.0), (2, 1, "a", 9.5, 8.5, 10.5), (3, 1, "a", 5.0, 4.0, 6.0)]
    assert queries._ranks(rows) == {1: (1, True), 2: (1, True), 3: (3, False)}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"scope": "soc"}, {"demo/sparrow-1b", "demo/sparrow-3b"}),
        ({"hw_class": "cloud"}, {"demo/condor-70b", "demo/sparrow-3b"}),
        ({"vendor": "demosilicon"}, {"demo/sparrow-1b", "demo/sparrow-3b"}),
        ({"accelerator": "Demo DC-80"}, {"demo/condor-70b", "demo/sparrow-3b"}),
        ({"family": "heron"}, {"demo/heron-8b", "demo/heron-moe-30b-a3b"}),
        ({"max_active": "3"}, {"demo/sparrow-1b", "demo/sparrow-3b", "demo/heron-moe-30b-a3b"}),
        ({"quant": "fp8"}, {"demo/heron-moe-30b-a3b", "demo/condor-70b"}),
        ({"from": "2025-06-01"}, {"demo/heron-moe-30b-a3b", "demo/condor-70b"}),
        ({"to": "2024-12-31"}, {"demo/heron-8b", "demo/sparrow-3b"}),
        ({"q": "CONDOR"}, {"demo/condor-70b"}),
        ({"q": "alice", "scope": "soc"}, {"demo/sparrow-1b", "demo/sparrow-3b"}),
        ({"dataset": "ipwboard-demo@1", "scope": "wall"}, set()),
    ],
)
def test_filters(board: list[Any], params: dict[str, str], expected: set[str]) -> None:
    assert set(names(BoardQuery.from_params(params))) == expected


@pytest.mark.parametrize("key", sorted(sorts()))  # every sort the column registry declares
def test_every_column_sorts_both_ways(board: list[Any], key: str) -> None:
    for direction in ("asc", "desc"):
        page = queries.board_page(BoardQuery.from_params({"sort": key, "dir": direction}))
        for group in page.groups:
            pks = [row["pk"] for row in group.rows]
            expected = list(
                queries.filtered(BoardQuery.from_params({"sort": key, "dir": direction}))
                .filter(submission__measurement_scope=group.scope)
                .values_list("pk", flat=True)
            )
            assert pks == expected


def test_url_state_round_trips_and_is_forgiving() -> None:
    params = {
        "q": "heron",
        "scope": "soc",
        "max_active": "8",
        "from": "2025-01-01",
        "all": "1",
        "sort": "energy",
        "dir": "desc",
        "page": "2",
    }
    query = BoardQuery.from_params(params)
    assert BoardQuery.from_params(query.to_params()) == query
    assert query.to_params() == params
    junk = BoardQuery.from_params(
        {"sort": "nope", "max_active": "inf", "from": "2025-13-01", "page": "-4", "dir": "up"}
    )
    assert junk == BoardQuery()
    assert junk.to_params() == {}


# --- the page and its fragment -----------------------------------------------------------------


def test_page_and_htmx_fragment(board: list[Any], anonymous: Persona) -> None:
    page = html(anonymous.client, "/")
    assert "<html" in page and 'id="filters"' in page and 'id="board-table"' in page
    assert page.count('class="ranking"') == 2
    assert "Demo data." in page  # synthetic rows say so

    response = anonymous.client.get("/?q=&scope=soc&vendor=&sort=accuracy", HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="board-table"')
    assert 'hx-swap-oob="true"' in fragment and 'value="accuracy"' in fragment
    # the canonical permalink, whatever the form serialised
    assert response["HX-Push-Url"] == "/?scope=soc&sort=accuracy"

    restore = anonymous.client.get(
        "/?scope=soc", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()  # back button: the whole page


def test_empty_states_say_what_to_do(anonymous: Persona, demo_version: Any) -> None:
    assert "ipwboard submit" in html(anonymous.client, "/")
    assert "Clear every filter" in html(anonymous.client, "/?q=nothing")
    assert "No ranked results yet" in html(anonymous.client, "/trends/")
    assert "Pick at least two pairs" in html(anonymous.client, "/compare/")


def _count(client: Any, url: str, **headers: Any) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url", ["/", "/?all=1&sort=date", "/models/demosparrow-3b/", "/hardware/demo-laptop-soc/"]
)
def test_list_pages_use_a_fixed_number_of_queries(
    alice: Persona,
    alice_key: Any,
    demo_version: Any,
    make_bundle: Any,
    anonymous: Persona,
    django_assert_num_queries: Any,
    url: str,
) -> None:
    small = tuple(s for s in SPECS if s[0] == "demo/sparrow-3b")
    build_board(alice, alice_key, demo_version, make_bundle, small)
    few = _count(anonymous.client, url)
    build_board(alice, alice_key, demo_version, make_bundle, SPECS)
    cache.clear()
    # cold cache: the same count with 2 or 9 submissions (rows: 2 queries; the leaderboard's filter
    # choices: 2 more; the model/hardware pages' catalog row: 1; the hardware page asks once more
    # whether measured runs on it wait in the catalog review queue)
    with django_assert_num_queries(few):
        anonymous.client.get(url)
    assert few == (4 if url.startswith(("/?", "/hardware")) or url == "/" else 3)
    # warm cache: nothing but the model/hardware page's own catalog row, page or fragment
    warm = 1 if url.startswith(("/models", "/hardware")) else 0
    with django_assert_num_queries(warm):
        anonymous.client.get(url)
    with django_assert_num_queries(warm):
        anonymous.client.get(url, HTTP_HX_REQUEST="true")


def test_cache_is_invalidated_when_a_submission_is_scored(
    board: list[Any],
    alice: Persona,
    alice_key: Any,
    demo_version: Any,
    make_bundle: Any,
    anonymous: Persona,
) -> None:
    before = html(anonymous.client, "/?scope=soc")
    assert "demo/heron-8b" not in before
    extra = (("demo/heron-8b", "Demo Laptop SoC", "2025-09-01", "q4_k_m", {}),)
    build_board(alice, alice_key, demo_version, make_bundle, extra)
    assert "demo/heron-8b" in html(anonymous.client, "/?scope=soc")


def test_held_and_hidden_submissions_are_not_ranked(board: list[Any], anonymous: Persona) -> None:
    board[3].hidden = True
    board[3].save()
    assert "demo/condor-70b" not in html(anonymous.client, "/")


# --- the pair page ------------------------------------------------------------------------------


def test_pair_page(board: list[Any], anonymous: Persona) -> None:
    key = PairKey.of(board[0])
    assert key.url() == "/pairs/demoheron-8b/demo-workstation-gpu/ipwboard-demo/1/accelerator/"
    page = html(anonymous.client, key.url())
    best = max((s.current_evaluation for s in board[:2]), key=lambda e: e.ipw)
    assert f"{best.ipw:.3g}"[:5] in page
    assert "Demo data." in page and "rank " in page
    for chart in ("chart-domains", "chart-energy", "chart-latency", "chart-trace", "chart-history"):
        assert f'data-chart="{chart}-data"' in page
    assert page.count('type="application/json"') == 5
    assert "Per-query results" in page and "Page 1 of 3" in page
    assert 'textarea id="embed-html"' in page

    other = next(s for s in board[:2] if s.current_evaluation.pk != best.pk)
    assert "earlier submission of this pair" in html(
        anonymous.client, f"{key.url()}?run={other.pk}"
    )


def test_pair_drilldown_fragment(board: list[Any], anonymous: Persona) -> None:
    key = PairKey.of(board[0])
    response = anonymous.client.get(
        key.url() + "?wrong=1&domain=geography", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="drilldown"
    )
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section id="drilldown"')
    assert "✓ correct" not in fragment
    rows = re.findall(r"<td>geography</td>", fragment)
    wrong = len(re.findall("✗ wrong", fragment))
    assert len(rows) == wrong
    assert response["HX-Push-Url"] == key.url() + "?wrong=1&domain=geography"


def test_pair_without_trace_says_so(board: list[Any], anonymous: Persona) -> None:
    page = html(anonymous.client, PairKey.of(board[4]).url())
    assert "No trace" in page and "no trace" in page  # the chart slot and the badge


def test_unknown_pair_is_404(anonymous: Persona, demo_version: Any) -> None:
    assert anonymous.client.get("/pairs/a/b/c/1/soc/").status_code == 404
    badge = anonymous.client.get("/pairs/a/b/c/1/soc/badge.svg")
    assert badge.status_code == 404 and b"not ranked" in badge.content


def test_badge(board: list[Any], anonymous: Persona) -> None:
    response = anonymous.client.get(PairKey.of(board[5]).badge_url())
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.startswith("<svg") and "IPW" in svg and "of 2" in svg and "(demo)" in svg


# --- compare, trends, methodology ---------------------------------------------------------------


def test_compare(board: list[Any], anonymous: Persona) -> None:
    a, b, c = (PairKey.of(board[i]) for i in (0, 2, 5))
    page = html(anonymous.client, f"/compare/?pairs={a.token},{b.token}&pairs={c.token}&pairs=junk")
    assert page.count('<th scope="col"><a href="/pairs/') == 3
    assert "Different measurement classes" in page  # c is measured at the SoC
    assert page.count('type="application/json"') >= 6
    same = html(anonymous.client, f"/compare/?pairs={a.token},{b.token}")
    assert "Different measurement classes" not in same
    five = ",".join([a.token, b.token, c.token, *(PairKey.of(board[i]).token for i in (3, 4))])
    assert "At most four pairs" in html(anonymous.client, f"/compare/?pairs={five}")


def test_trend_maths() -> None:
    from datetime import date

    d = date.fromisoformat
    front = trends.frontier(
        [(d("2023-05-01"), 1.0), (d("2024-01-01"), 0.5), (d("2025-02-01"), 5.3)]
    )
    assert front == [(d("2023-05-01"), 1.0), (d("2025-02-01"), 5.3)]
    [imp] = trends.improvements({"local": front}, 2023, 2025)
    assert imp.factor == pytest.approx(5.3)
    assert trends.improvements({"local": front}, 2022, 2025)[0].factor is None


def test_trends_page(board: list[Any], anonymous: Persona) -> None:
    page = html(anonymous.client, "/trends/")
    assert page.count('type="application/json"') == 3
    assert "ipwboard-demo@1 · Accelerator only" in page  # the most populated context by default
    assert "Demo data." in page
    assert "Best by 2023" in page or "Best by 2024" in page
    soc = html(anonymous.client, "/trends/?dataset=ipwboard-demo@1&scope=soc&axis=measured")
    assert 'aria-current="page"' in soc and "Pareto frontier" in soc


def test_pareto_front() -> None:
    def p(acc: float, energy: float) -> Any:
        return trends.Point("x", "local", None, None, 1.0, acc, energy, False, None)  # type: ignore[arg-type]

    pts = [p(0.5, 10), p(0.4, 20), p(0.7, 30), p(0.6, 5)]
    assert [(x.accuracy, x.energy) for x in trends.pareto_front(pts)] == [(0.6, 5), (0.7, 30)]


def test_methodology_is_generated_from_the_code(anonymous: Persona) -> None:
    page = html(anonymous.client, "/methodology/")
    for scope in vocab.schema_enum("measurement", "scope"):
        assert scope in vocab.SCOPES, f"describe measurement scope {scope!r} in board/vocab.py"
        assert f"<code>{scope}</code>" in page
    for method in vocab.schema_enum("measurement", "method"):
        assert method in vocab.METHODS, f"describe measurement method {method!r} in board/vocab.py"
        assert f"<code>{method}</code>" in page
    codes = vocab.error_codes()
    assert "bundle.signature.invalid" in codes or len(codes) > 20
    for code in codes:
        assert f"<code>{code}</code>" in page
    assert "Not described yet" not in page


# --- escaping and helpers -----------------------------------------------------------------------

NASTY = 'demo/<img src=x onerror=alert(1)>"</script>'


def test_untrusted_names_are_escaped_everywhere(
    alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any, anonymous: Persona
) -> None:
    def rename(manifest: dict[str, Any]) -> None:
        manifest["model"]["id"] = NASTY

    build_board(
        alice,
        alice_key,
        demo_version,
        make_bundle,
        (
            (
                "demo/heron-8b",
                "Demo Workstation GPU",
                "2025-01-01",
                "fp16",
                {"mutate_manifest": rename},
            ),
            ("demo/heron-moe-30b-a3b", "Demo Workstation GPU", "2025-02-01", "fp8", {}),
        ),
    )
    from submissions.models import Submission

    nasty = Submission.objects.get(model__name=NASTY)
    other = Submission.objects.exclude(pk=nasty.pk).get()
    key = PairKey.of(nasty)
    urls = [
        "/",
        key.url(),
        f"/compare/?pairs={key.token},{PairKey.of(other).token}",
        "/trends/",
        f"/models/{key.model}/",
        key.badge_url(),
    ]
    for url in urls:
        body = anonymous.client.get(url).content.decode()
        assert "<img src=x" not in body, url
        assert '</script>"' not in body and 'alert(1)>"</script>' not in body, url
    # chart data blocks stay valid JSON and carry the name, escaped for the block and for plotly
    page = anonymous.client.get(f"/compare/?pairs={key.token},{PairKey.of(other).token}").content
    blocks = re.findall(rb'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S)
    assert blocks
    figure = json.loads(blocks[0])
    assert any("&lt;img" in str(trace.get("x")) for trace in figure["data"])
