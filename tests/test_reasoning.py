"""/reasoning/ and /api/v1/reasoning/: IPW against reasoning tokens per query, one chart per
ranking, from each pair's best public result (the read model's flag).

Data go through the real pipeline (tests/browser/boarddata.py): 4 accelerator pairs (heron-8b on
the workstation submitted twice) and 2 SoC pairs. The engine does not fill the reasoning means yet,
so each test sets them on the evaluations directly.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluator.metrics import MEAN_COLUMNS
from ipwboard.board import reasoning
from ipwboard.board.models import BoardEntry
from submissions import services
from submissions.models import Evaluation, Submission
from tests.browser.boarddata import build_board
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture
def board(alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Any]:
    submitted = build_board(alice, alice_key, demo_version, make_bundle)
    # As runs of a harness that reports none of the optional columns: each test says what a run
    # reports (the demo generator's own figures would otherwise decide what is plotted).
    Evaluation.objects.update(**dict.fromkeys(MEAN_COLUMNS))
    return submitted


def report(submission: Submission, **means: float | None) -> None:
    """What a newer harness run would have given the engine (an Evaluation is never rewritten
    in production; here the figures stand in for the engine's)."""
    Evaluation.objects.filter(pk=submission.current_evaluation_id).update(**means)
    cache.clear()  # not a board write: nothing retires the cached pages by itself


def heron(board: list[Any]) -> tuple[Submission, Submission]:
    """The heron-8b pair's (best, other) submission, by the read model's flag."""
    first, second = board[0], board[1]
    return (first, second) if BoardEntry.objects.get(submission=first).best else (second, first)


def page(client: Any) -> str:
    response = client.get("/reasoning/")
    assert response.status_code == 200
    return response.content.decode()


def figures(html: str) -> dict[str, Any]:
    """The chart data blocks of a page, by chart id."""
    blocks = re.findall(r'<script type="application/json" id="([^"]+)-data">(.*?)</script>', html)
    return {chart_id: json.loads(text) for chart_id, text in blocks}


def plotted(figure: dict[str, Any]) -> list[tuple[str, float]]:
    return sorted(
        (label, x)
        for trace in figure["data"]
        for label, x in zip(trace["text"], trace["x"], strict=True)
    )


def test_points_only_for_pairs_with_data_and_counted_in_the_caption(
    board: list[Any], anonymous: Persona
) -> None:
    _best, other = heron(board)
    report(board[3], mean_reasoning_tokens=1850.4)  # condor-70b on the datacenter GPU
    report(board[4], mean_reasoning_tokens=0.0)  # sparrow-3b: a non-thinking run reports 0
    report(other, mean_reasoning_tokens=900.0)  # not the pair's best: the pair is not plotted
    html = page(anonymous.client)
    charts = figures(html)
    assert list(charts) == ["reasoning-1"]  # accelerator has data; SoC has none
    assert plotted(charts["reasoning-1"]) == [
        ("demo/condor-70b on Demo Datacenter GPU (synthetic)", 1850.0),
        ("demo/sparrow-3b on Demo Datacenter GPU (synthetic)", 0.0),
    ]
    trace = charts["reasoning-1"]["data"][0]
    point = BoardEntry.objects.get(submission=board[3])
    index = trace["text"].index("demo/condor-70b on Demo Datacenter GPU (synthetic)")
    assert trace["y"][index] == pytest.approx(point.ipw, rel=1e-3)
    assert trace["error_y"]["array"][index] == pytest.approx(point.ipw_high - point.ipw, rel=1e-2)
    assert trace["error_y"]["arrayminus"][index] == pytest.approx(
        point.ipw - point.ipw_low, rel=1e-2
    )
    text = " ".join(html.split())
    assert "2 of 4 pairs report reasoning tokens." in text
    assert "cannot tell reasoning tokens apart" in text
    # The ranking with nothing to plot is named with its count, not dropped.
    assert "ipwboard-demo@1 · SoC package: 0 of 2 pairs report reasoning tokens" in text
    assert "Demo data." in text  # every demo run is synthetic
    assert 'href="/methodology/#reasoning"' in html
    # The figures table holds what the chart shows (for readers without JavaScript).
    assert text.count('<tr class="is-synthetic">') == 2


def test_one_chart_per_ranking(board: list[Any], anonymous: Persona) -> None:
    report(board[3], mean_reasoning_tokens=1200.0)
    report(board[5], mean_reasoning_tokens=300.0)
    report(board[6], mean_reasoning_tokens=10.0)
    html = page(anonymous.client)
    assert list(figures(html)) == ["reasoning-1", "reasoning-2"]  # most pairs first
    titles = re.findall(r'class="ranking-title"[^>]*>([^<]+)<', html)
    assert titles == ["ipwboard-demo@1 · Accelerator only", "ipwboard-demo@1 · SoC package"]
    text = " ".join(html.split())
    assert "1 of 4 pairs reports reasoning tokens" in text
    assert "2 of 2 pairs report reasoning tokens" in text
    assert "Rankings with nothing to plot" not in text
    assert html.count("plotly-basic") == 1


def test_non_public_results_are_never_plotted(
    board: list[Any], anonymous: Persona, alice: Persona, staff: Persona
) -> None:
    best, other = heron(board)
    report(best, mean_reasoning_tokens=111.0)
    report(other, mean_reasoning_tokens=222.0)
    report(board[2], mean_reasoning_tokens=333.0)
    report(board[3], mean_reasoning_tokens=444.0)
    report(board[5], mean_reasoning_tokens=555.0)

    def shown() -> set[float]:
        cache.clear()
        xs = {x for fig in figures(page(anonymous.client)).values() for _, x in plotted(fig)}
        api = anonymous.client.get("/api/v1/reasoning/").json()
        assert xs == {p["reasoning_tokens"] for r in api["rankings"] for p in r["points"]}
        return xs

    assert shown() == {111.0, 333.0, 444.0, 555.0}
    services.moderate_submission(best, staff.user, "hide")  # the pair's other result stands
    assert shown() == {222.0, 333.0, 444.0, 555.0}
    services.withdraw_submission(board[2], alice.user)
    services.moderate_submission(board[5], staff.user, "deny")
    assert shown() == {222.0, 444.0}
    assert set(Submission.objects.public().values_list("pk", flat=True)).isdisjoint(
        {best.pk, board[2].pk, board[5].pk}
    )
    text = " ".join(page(anonymous.client).split())
    assert "2 of 3 pairs report reasoning tokens" in text  # the withdrawn pair is not counted
    assert "SoC package: 0 of 1 pair report" in text


def test_agentic_rankings_add_tool_calls(board: list[Any], anonymous: Persona) -> None:
    agentic = board[3]
    agentic.ranking_class = "accelerator-agentic"  # as an `ipw run` result is classed
    agentic.save()  # the read model moves it to its own ranking
    report(agentic, mean_reasoning_tokens=4000.0, mean_tool_calls=3.4, mean_turns=5.0)
    # A single-turn run makes no tool calls: a stray value is not charted.
    report(board[4], mean_reasoning_tokens=50.0, mean_tool_calls=2.0)
    html = page(anonymous.client)
    charts = figures(html)
    assert sorted(charts) == ["reasoning-1", "reasoning-2", "tools-2"]
    assert plotted(charts["tools-2"]) == [
        ("demo/condor-70b on Demo Datacenter GPU (synthetic)", 3.4)
    ]
    assert charts["tools-2"]["layout"]["xaxis"]["title"]["text"] == "Tool calls per task (mean)"
    assert "per task" in charts["reasoning-2"]["layout"]["xaxis"]["title"]["text"]
    assert "per query" in charts["reasoning-1"]["layout"]["xaxis"]["title"]["text"]
    text = " ".join(html.split())
    assert "Accelerator only · agentic tasks" in text
    assert "1 of 1 pair reports reasoning tokens; 1 reports tool calls." in text
    api = anonymous.client.get("/api/v1/reasoning/?scope=accelerator-agentic").json()
    [ranking] = api["rankings"]
    assert ranking["agentic"] and ranking["pairs_with_tool_calls"] == 1
    assert ranking["points"][0] | {"ipw": 0, "ipw_low": 0, "ipw_high": 0, "accuracy": 0} == {
        "model": "demo/condor-70b",
        "hardware": "Demo Datacenter GPU",
        "device_class": ranking["points"][0]["device_class"],
        "pair": "/pairs/democondor-70b/demo-datacenter-gpu/ipwboard-demo/1/accelerator-agentic/",
        "ipw": 0,
        "ipw_low": 0,
        "ipw_high": 0,
        "accuracy": 0,
        "reasoning_tokens": 4000.0,
        "tool_calls": 3.4,
        "turns": 5.0,
        "synthetic": True,
    }
    single = anonymous.client.get("/api/v1/reasoning/?scope=accelerator").json()["rankings"][0]
    assert single["pairs_with_tool_calls"] is None


def test_empty_states(
    alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any, anonymous: Persona
) -> None:
    html = page(anonymous.client)
    assert "No ranked results yet" in html and "plotly" not in html
    assert anonymous.client.get("/api/v1/reasoning/").json() == {"rankings": []}
    build_board(alice, alice_key, demo_version, make_bundle)
    Evaluation.objects.update(**dict.fromkeys(MEAN_COLUMNS))  # runs that report none of them
    cache.clear()
    html = " ".join(page(anonymous.client).split())
    assert "No ranked pair reports reasoning tokens yet" in html and "plotly" not in html
    assert "Accelerator only: 0 of 4 pairs report reasoning tokens" in html
    assert "Demo data." not in html  # nothing plotted, nothing to mark


def test_real_runs_carry_no_demo_note(board: list[Any], anonymous: Persona) -> None:
    report(board[3], mean_reasoning_tokens=10.0)
    Submission.objects.filter(pk=board[3].pk).update(synthetic=False)
    html = page(anonymous.client)
    assert "Demo data." not in html and "(synthetic)" not in html
    [figure] = figures(html).values()
    assert figure["data"][0]["marker"]["symbol"] == ["circle"]  # open circles mark demo runs


def test_two_queries_whatever_the_board_size(board: list[Any]) -> None:
    for submission in board:
        report(submission, mean_reasoning_tokens=5.0)
    with CaptureQueriesContext(connection) as captured:
        found = reasoning.compute()
    assert len(captured) == 2
    assert [(r.scope, r.pairs, r.with_reasoning, len(r.reasoning)) for r in found] == [
        ("accelerator", 4, 4, 4),
        ("soc", 2, 2, 2),
    ]


def test_page_and_api_are_cached_and_follow_the_board(
    board: list[Any], anonymous: Persona, staff: Persona
) -> None:
    report(board[3], mean_reasoning_tokens=10.0)
    first = page(anonymous.client)
    api = anonymous.client.get("/api/v1/reasoning/").json()
    for url in ("/reasoning/", "/api/v1/reasoning/"):
        with CaptureQueriesContext(connection) as captured:
            assert anonymous.client.get(url).status_code == 200
        assert len(captured) == 0, url
    assert page(anonymous.client) == first
    services.moderate_submission(board[3], staff.user, "hide")  # retires the cached versions
    assert "condor-70b" not in page(anonymous.client)
    assert anonymous.client.get("/api/v1/reasoning/").json() != api


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("dataset=%3Cscript%3E", "dataset"),
        ("dataset=demo@", "dataset"),
        ("scope=accelerator%20only", "scope"),
        ("scope=" + "a" * 81, "scope"),
    ],
)
def test_api_rejects_malformed_filters(anonymous: Persona, query: str, field: str) -> None:
    response = anonymous.client.get(f"/api/v1/reasoning/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "request.invalid" and field in error["fields"]


def test_api_filters(board: list[Any], anonymous: Persona) -> None:
    report(board[5], mean_reasoning_tokens=42.0)

    def scopes(query: str) -> list[str]:
        response = anonymous.client.get(f"/api/v1/reasoning/?{query}")
        assert response.status_code == 200
        return [r["ranking_class"] for r in response.json()["rankings"]]

    assert scopes("") == ["accelerator", "soc"]
    assert scopes("scope=soc") == ["soc"]
    assert scopes("dataset=ipwboard-demo") == ["accelerator", "soc"]
    assert scopes("dataset=ipwboard-demo@1&scope=soc") == ["soc"]
    assert scopes("dataset=ipwboard-demo@2") == []  # well-formed, matches nothing
    assert scopes("scope=wall") == []
    [soc] = anonymous.client.get("/api/v1/reasoning/?scope=soc").json()["rankings"]
    assert (soc["pairs"], soc["pairs_with_reasoning_tokens"], len(soc["points"])) == (2, 1, 1)
    assert soc["synthetic"] is True


def test_labels_are_escaped(board: list[Any], anonymous: Persona) -> None:
    from submissions.models import AIModel

    AIModel.objects.filter(pk=board[3].model_id).update(name="<b>x</b>")
    report(board[3], mean_reasoning_tokens=1.0)
    html = page(anonymous.client)
    assert "<b>x</b>" not in html
    [figure] = figures(html).values()
    assert figure["data"][0]["text"] == ["&lt;b&gt;x&lt;/b&gt; on Demo Datacenter GPU (synthetic)"]
