"""Rankings never mix measurement classes: scope, energy attribution, basis, workload (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluator.measurement_classes import ranking_class, ranking_class_label, ranking_class_parts
from submissions import services
from submissions.models import Submission
from tests.conftest import Persona, Signer
from tests.test_catalog_server import build, measured, run


@pytest.mark.parametrize(
    "parts",
    [
        ("accelerator", "in_window", "accelerator", "single_turn"),
        ("accelerator", "chained", "accelerator", "single_turn"),
        ("soc", "in_window", "accelerator", "single_turn"),
        ("accelerator", "chained", "cpu_accelerator", "agentic"),
        ("wall", "in_window", "wall", "agentic"),
    ],
)
def test_ranking_class_round_trips(parts: tuple[str, str, str, str]) -> None:
    key = ranking_class(*parts)
    assert ranking_class_parts(key) == parts
    assert key.replace("-", "").isalnum()  # a URL slug
    assert ranking_class_label(key).startswith(("Accelerator", "SoC", "Whole"))


def test_the_usual_class_is_the_bare_scope() -> None:
    """Existing permalinks (…/accelerator/) keep meaning what they meant."""
    assert ranking_class("accelerator", "in_window", "accelerator", "single_turn") == "accelerator"


@pytest.mark.django_db
def test_chained_and_in_window_results_of_one_pair_rank_apart(
    tmp_path: Path,
    alice: Persona,
    alice_key: Signer,
    staff: Persona,
    demo_version: Any,
    anonymous: Persona,
) -> None:
    def chained(manifest: dict[str, Any]) -> None:
        measured()(manifest)
        manifest["measurement"]["attribution"] = "chained"

    in_window = run(alice, build(tmp_path, demo_version, alice_key, seed=31))
    old_style = run(alice, build(tmp_path, demo_version, alice_key, seed=32, change=chained))
    for submission in (in_window, old_style):
        assert submission.status == Submission.Status.SCORED, submission.report
        services.moderate_submission(submission, staff.user, "approve")  # short demo runs
    assert (in_window.ranking_class, old_style.ranking_class) == (
        "accelerator",
        "accelerator-chained",
    )
    rows = anonymous.api.get("/api/v1/leaderboard/").json()
    # Two rankings, each with its own rank 1: never one ranking with both.
    assert sorted((r["ranking_class"], r["rank"]) for r in rows) == [
        ("accelerator", 1),
        ("accelerator-chained", 1),
    ]
    page = anonymous.client.get("/").content.decode()
    assert "chained since the previous query" in page
    pair = next(r for r in rows if r["ranking_class"] == "accelerator")
    from ipwboard.board.pairs import PairKey

    key = PairKey.of(Submission.objects.get(pk=pair["submission"]))
    html = anonymous.client.get(key.url()).content.decode()
    assert "also measured in" in html and "/accelerator-chained/" in html
