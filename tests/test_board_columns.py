"""Issue 14's new columns through the column registry: input, output and reasoning tokens, phase
and rail energies, utilisation, turns and tool calls on the pair page, the API and every export;
input and reasoning tokens in the drill-down; and the agentic track's page.

Data go through the real pipeline. The engine's per-query means are set on the evaluations
directly (``tests.test_columns.report``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ipwboard.board import columns, exports
from ipwboard.board.exports_columns import arrow_schema, board_columns
from ipwboard.board.pairs import PairKey
from submissions.models import Submission
from submissions.services.perquery import read_results
from tests.browser.boarddata import SPECS, build_board
from tests.conftest import Persona, Signer
from tests.test_catalog_server import run
from tests.test_columns import MEANS, NONE, report

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any) -> list[Submission]:
    """Two pairs of one ranking: sparrow-1b and sparrow-3b on the laptop SoC."""
    return build_board(alice, alice_key, demo_version, make_bundle, SPECS[5:])


def _agentic(manifest: dict[str, Any]) -> None:
    manifest["workload"] = {"kind": "agentic", "agent": "demo-agent"}


@pytest.fixture
def tracks(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> tuple[Submission, Submission]:
    """(single-turn, agentic) results of two models on the same hardware and dataset."""
    single = run(alice, make_bundle(demo_version, alice_key, model="demo/sparrow-3b", seed=41))
    agentic = run(
        alice,
        make_bundle(
            demo_version, alice_key, model="demo/heron-8b", seed=42, mutate_manifest=_agentic
        ),
    )
    assert (single.ranking_class, agentic.ranking_class) == ("accelerator", "accelerator-agentic")
    return single, agentic


# --- the new columns ----------------------------------------------------------------------------


def test_new_columns_in_the_api_and_every_export(
    two: list[Submission], anonymous: Persona, tmp_path: Path
) -> None:
    reporting, silent = two
    report(reporting, **MEANS)
    report(silent, **NONE)

    rows = {r["submission"]: r for r in anonymous.api.get("/api/v1/leaderboard/").json()}
    for key, value in MEANS.items():
        assert rows[str(reporting.pk)][key] == value, key
        assert rows[str(silent.pk)][key] is None, key

    exports.build_board_csv(tmp_path / "board.csv")
    with (tmp_path / "board.csv").open() as fh:
        by_id = {r["submission_id"]: r for r in csv.DictReader(fh)}
    exports.write_parquet(
        exports.board_rows(), tmp_path / "board.parquet", board_columns(), arrow_schema()
    )
    parquet = {r["submission_id"]: r for r in pq.read_table(tmp_path / "board.parquet").to_pylist()}
    json_rows = {r["submission_id"]: r for r in exports.board_rows()}  # what board.json holds
    dictionary = {c["name"]: c for c in exports.data_dictionary()}
    for key, value in MEANS.items():
        assert float(by_id[str(reporting.pk)][key]) == value and by_id[str(silent.pk)][key] == ""
        assert parquet[str(reporting.pk)][key] == value and parquet[str(silent.pk)][key] is None
        assert json_rows[str(reporting.pk)][key] == value
        assert dictionary[key]["type"] == "float" and dictionary[key]["description"]
    assert dictionary["mean_reasoning_tokens"]["unit"] == "tokens"
    assert dictionary["mean_prefill_energy_j"]["unit"] == "J"
    # Added after the historical columns: a reader by position keeps its columns.
    names = list(dictionary)
    assert names.index("scored_at") < names.index("ranking_class") < names.index("mean_turns")


def test_new_figures_on_the_pair_page(two: list[Submission], anonymous: Persona) -> None:
    reporting, silent = two
    report(reporting, **MEANS)
    report(silent, **NONE)
    page = anonymous.client.get(PairKey.of(reporting).url()).content.decode()
    assert "<dt>Input tokens</dt><dd>412" in page
    assert "<dt>Reasoning tokens</dt><dd>1,850" in page
    assert "<dt>Prefill energy</dt><dd>3.25 <small>J</small>" in page
    assert "<dt>GPU utilisation</dt><dd>71.5 <small>%</small>" in page
    assert "<dt>Tool calls / task</dt><dd>4.25" in page
    for column in columns.on("figure"):
        assert f"<dt>{column.label}</dt>" in page, column.key
    assert "Not reported by this run" not in page

    quiet = anonymous.client.get(PairKey.of(silent).url()).content.decode()
    assert "<dt>Input tokens</dt>" not in quiet
    labels = [columns.by_key()[key].label for key in MEANS]
    assert f"Not reported by this run: {', '.join(labels)}." in quiet


def test_the_drilldown_shows_input_and_reasoning_tokens_when_reported(
    two: list[Submission], anonymous: Persona
) -> None:
    evaluation = two[0].current_evaluation
    table = read_results(evaluation.queries_file.name)
    html = anonymous.client.get(PairKey.of(two[0]).url() + "?sort=-energy").content.decode()
    drilldown = html[html.index('<section id="drilldown"') :]
    for name, label in (("input_tokens", "Input tokens"), ("reasoning_tokens", "Reasoning tokens")):
        reported = table.column(name).null_count < table.num_rows
        assert (f'<th scope="col" class="num">{label}</th>' in drilldown) == reported, name
    assert table.column("input_tokens").null_count == 0  # the demo run reports input tokens
    top = max(table.to_pylist(), key=lambda r: r["energy_j"])
    body = drilldown[drilldown.index("<tbody>") :]
    first_row = body[: body.index("</tr>")]
    assert f'<td class="num">{top["input_tokens"]:,}</td>' in first_row


def test_input_and_reasoning_tokens_sort_the_board(
    two: list[Submission], anonymous: Persona
) -> None:
    report(two[0], **{**NONE, "mean_input_tokens": 100.0, "mean_reasoning_tokens": 50.0})
    report(two[1], **{**NONE, "mean_input_tokens": 900.0})
    rows = anonymous.api.get("/api/v1/leaderboard/?sort=input&dir=desc").json()
    assert [r["submission"] for r in rows] == [str(two[1].pk), str(two[0].pk)]
    rows = anonymous.api.get("/api/v1/leaderboard/?sort=reasoning").json()
    assert [r["submission"] for r in rows] == [str(two[0].pk), str(two[1].pk)]  # nulls last
    page = anonymous.client.get("/").content.decode()
    assert '<option value="reasoning">Reasoning tokens</option>' in page  # the sort menu
    # Not default columns (the table stays readable on a phone): no header links to them.
    assert "?sort=reasoning" not in page and "?sort=input" not in page


# --- the agentic track --------------------------------------------------------------------------


def test_the_agentic_page_lists_agentic_results_only(
    tracks: tuple[Submission, Submission], anonymous: Persona
) -> None:
    single, agentic = tracks
    report(agentic, **{**NONE, "mean_turns": 6.5, "mean_tool_calls": 4.25, "mean_tool_s": 1.5})
    report(single, **NONE)
    page = anonymous.client.get("/agentic/").content.decode()
    assert "demo/heron-8b" in page and "demo/sparrow-3b" not in page
    assert "include every turn and every tool call" in page
    for column in columns.on("agentic"):
        assert column.label_on("agentic") in page, column.key
    assert "Energy / task" in page and "Energy / query" not in page
    assert "6.50</td>" in page and "4.25</td>" in page and "1.50\u00a0s</td>" in page
    # Sorting keeps to the page; a bad sort is ignored.
    assert 'href="/agentic/?sort=turns"' in page
    assert anonymous.client.get("/agentic/?sort=turns").status_code == 200
    assert "demo/heron-8b" in anonymous.client.get("/agentic/?sort=drop+table").content.decode()
    # The leaderboard ranks both, apart; its navigation and the methodology lead here.
    board = anonymous.client.get("/").content.decode()
    assert 'href="/agentic/"' in board and "agentic tasks" in board
    methodology = anonymous.client.get("/methodology/").content.decode()
    assert 'id="agentic"' in methodology and 'href="/agentic/"' in methodology
    rows = anonymous.api.get("/api/v1/leaderboard/").json()
    assert {r["ranking_class"]: r["mean_turns"] for r in rows} == {
        "accelerator": None,
        "accelerator-agentic": 6.5,
    }


def test_the_agentic_page_says_when_nothing_is_ranked(
    two: list[Submission], anonymous: Persona
) -> None:
    page = anonymous.client.get("/agentic/").content.decode()
    assert "No agentic task results are ranked here yet" in page and "demo/sparrow" not in page
    filtered = anonymous.client.get("/agentic/?q=sparrow").content.decode()
    assert "No ranked pairs match these filters" in filtered
    assert anonymous.client.get("/agentic/nothing/").status_code == 404
