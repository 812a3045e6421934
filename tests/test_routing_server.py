"""The routing analysis on the board: computed by the task from the ranked pairs' per-query files,
stored, and served from the store by the page, the API and the exports.

Data goes through the real pipeline (upload -> process_submission), see tests/browser/boarddata.py.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ipwboard.board import routing, tasks
from ipwboard.board.models import BoardEntry, RoutingAnalysis
from submissions.signals import board_changed
from tests.browser.boarddata import build_board
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture
def board(alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Any]:
    submitted = build_board(alice, alice_key, demo_version, make_bundle)
    routing.refresh_all()
    return submitted


def _row(scope: str, local: str = routing.DEFAULT_LOCAL) -> RoutingAnalysis:
    return RoutingAnalysis.objects.get(ranking_class=scope, local_set=local)


def test_task_stores_one_analysis_per_context_and_local_set(board: list[Any]) -> None:
    contexts = routing.contexts()
    assert {rc for _, rc in contexts} == {"accelerator", "soc"}
    assert RoutingAnalysis.objects.count() == len(contexts) * len(routing.LOCAL_SETS)
    row = _row("accelerator")
    assert row.synthetic and row.pairs == 4  # each pair's best only: heron-8b ran twice
    # Nothing changed: the task recomputes nothing (the signature names the inputs).
    assert tasks.refresh_routing.run() == {"contexts": 2, "computed": 0, "removed": 0}


def test_pair_figures_are_the_boards(board: list[Any]) -> None:
    """Each pair's accuracy, mean power and IPW read back from its per-query file equal the
    evaluation's: one definition of every metric."""
    result = _row("accelerator").result
    entries = BoardEntry.objects.filter(best=True, ranking_class="accelerator").select_related(
        "evaluation", "model", "hardware"
    )
    by_key = {f"{e.model.slug}/{e.hardware.slug}": e.evaluation for e in entries}
    for pair in result["pairs"]:
        evaluation = by_key[pair["key"]]
        assert pair["accuracy"] == pytest.approx(evaluation.accuracy)
        assert pair["mean_power_w"] == pytest.approx(evaluation.mean_power_w)
        assert pair["ipw"] == pytest.approx(evaluation.ipw)
    # Demo hardware is not in the catalog: the workstation counts as local (submitted so) in the
    # broad choice, the datacenter GPU never, and neither is a laptop or a phone.
    classes = {
        p["label"].split(" on ")[1]: (p["device_class"], p["local"]) for p in result["pairs"]
    }
    assert classes["Demo Workstation GPU"] == (routing.UNMAPPED_LOCAL, True)
    assert classes["Demo Datacenter GPU"] == ("datacenter", False)
    narrow = _row("accelerator", "laptop-phone").result
    assert not any(p["local"] for p in narrow["pairs"])
    assert narrow["coverage"]["any_local"] == 0.0
    oracle = next(p for p in result["policies"] if p["id"] == "oracle")
    assert oracle["upper_bound"] and oracle["accuracy"] >= max(
        p["accuracy"] for p in result["pairs"]
    )


def test_board_change_schedules_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.refresh_routing, "apply_async", lambda **kw: sent.append(kw))
    board_changed.send(sender=None)
    board_changed.send(sender=None)  # debounced: one rebuild for a burst
    assert len(sent) == 1
    from ipwboard.celery import app

    route = app.amqp.router.route({}, "ipwboard.board.tasks.refresh_routing")
    assert route["queue"].name == "exports"


def test_hidden_pair_leaves_the_analysis(board: list[Any]) -> None:
    board[3].hidden = True  # condor-70b on the datacenter GPU
    board[3].save()
    assert tasks.refresh_routing.run()["computed"] == 1
    assert _row("accelerator").pairs == 3
    assert "condor" not in str(_row("accelerator").result["pairs"])


def test_page_reads_the_store_and_never_computes(
    board: list[Any], anonymous: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a page request computed the analysis")

    monkeypatch.setattr(routing, "analyse", refuse)
    monkeypatch.setattr(routing, "compute_context", refuse)
    with CaptureQueriesContext(connection) as queries:
        response = anonymous.client.get("/routing/")
    assert response.status_code == 200
    assert len(queries) <= 4, [q["sql"] for q in queries]
    body = response.content.decode()
    assert "What could run locally?" in body and "Demo data." in body
    assert "routing-coverage" in body and "routing-tradeoff" in body
    assert "Oracle (upper bound" in body and "evaluate half" in body
    assert 'href="/routing/"' in body  # the site nav


def test_permalink_keeps_the_readers_choices(board: list[Any], anonymous: Persona) -> None:
    body = anonymous.client.get(
        "/routing/?dataset=ipwboard-demo@1&scope=soc&local=laptop-phone&floor=5"
    ).content.decode()
    assert 'aria-current="page" class="current">Laptops and phones only' in body
    assert 'aria-current="page" class="current">within 5 points' in body
    assert "floor 5 points" in body
    # Unknown choices fall back to the defaults instead of failing.
    body = anonymous.client.get("/routing/?dataset=nope&local=mars&floor=7").content.decode()
    assert 'aria-current="page" class="current">within 2 points' in body


def test_exports_and_api(board: list[Any], anonymous: Persona) -> None:
    result = _row("accelerator").result
    expected = len(result["policies"]) + len(result["pairs"])
    params = "?dataset=ipwboard-demo@1&scope=accelerator&local=local"
    response = anonymous.client.get(f"/routing/{params}&download=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == expected
    oracle = next(r for r in rows if r["id"] == "oracle")
    assert float(oracle["accuracy"]) == pytest.approx(
        next(p for p in result["policies"] if p["id"] == "oracle")["accuracy"]
    )
    response = anonymous.client.get(f"/routing/{params}&download=parquet")
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == expected and table.column("synthetic").to_pylist()[0] is True
    api = anonymous.client.get(f"/api/v1/routing/{params}").json()
    assert api["choice"] == {"dataset": "ipwboard-demo@1", "scope": "accelerator", "local": "local"}
    assert api["analysis"]["policies"] == result["policies"] and api["synthetic"] is True
    assert {c["scope"] for c in api["contexts"]} == {"accelerator", "soc"}


def test_empty_board_says_what_to_do(anonymous: Persona) -> None:
    body = anonymous.client.get("/routing/").content.decode()
    assert "No analysis yet" in body
    assert anonymous.client.get("/api/v1/routing/").json()["analysis"] is None
