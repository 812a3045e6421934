"""The server decides what is correct: an inflated self-reported accuracy gets the server's figure
and a visible flag, and the submission stays off the board until staff approve it."""

from __future__ import annotations

from typing import Any

import pytest

from submissions import services
from submissions.models import Submission
from tests.conftest import Persona, Signer, upload
from tests.perquery import query_rows

MODEL = "demo/heron-8b"  # answers about two thirds of the items right


def _leaderboard(persona: Persona) -> list[dict[str, Any]]:
    return persona.api.get("/api/v1/leaderboard/").json()


def test_inflated_claim_gets_the_server_accuracy_and_a_flag(
    alice: Persona,
    alice_key: Signer,
    staff: Persona,
    anonymous: Persona,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    body = upload(
        alice, make_bundle(demo_version, alice_key, model=MODEL, claimed_accuracy=0.99)
    ).json()
    services.process_submission(body["id"])
    submission = Submission.objects.select_related("current_evaluation").get(pk=body["id"])
    evaluation = submission.current_evaluation

    # The server's accuracy, not the claim; the claim is kept beside it as a cross-check.
    assert submission.status == Submission.Status.SCORED, submission.report
    assert evaluation.claimed_accuracy == pytest.approx(0.99)
    assert evaluation.accuracy < 0.9
    assert evaluation.accuracy == pytest.approx(evaluation.n_correct / evaluation.n_scored)

    # The API shows the owner the flag, the check and the server's figure.
    shown = alice.api.get(f"/api/v1/submissions/{body['id']}/").json()
    assert {"accuracy-claim-gap", "provisional"} <= set(shown["labels"])
    assert "accuracy-claim-gap" in shown["evaluation"]["labels"]
    [check] = [c for c in shown["report"]["checks"] if c["code"] == "accuracy.claim_gap"]
    assert check["status"] == "warn"
    assert check["field"] == "claimed.accuracy"
    assert "0.990" in check["message"] and f"{evaluation.accuracy:.3f}" in check["message"]
    assert shown["evaluation"]["accuracy"] == pytest.approx(evaluation.accuracy)
    assert shown["evaluation"]["claimed_accuracy"] == pytest.approx(0.99)

    # Held for review: not on the board ...
    assert shown["review"] == "pending"
    assert _leaderboard(anonymous) == []
    assert MODEL.encode() not in anonymous.client.get("/").content
    # ... and the status page says why.
    page = alice.client.get(f"/submissions/{body['id']}/").content.decode()
    assert "held for staff review" in page
    assert "accuracy.claim_gap" in page
    assert f"{evaluation.n_correct}/{evaluation.n_scored}" in page

    # Staff look at it and approve: it is ranked with the server's accuracy.
    assert submission in services.review_queue()
    response = staff.client.post(
        f"/account/review/{body['id']}/", {"action": "approve", "note": "claim gap noted"}
    )
    assert response.status_code == 302
    rows = _leaderboard(anonymous)
    assert [r["model"] for r in rows] == [MODEL]
    assert rows[0]["accuracy"] == pytest.approx(evaluation.accuracy)
    assert "accuracy-claim-gap" in rows[0]["labels"]


def test_a_modest_claim_is_not_flagged(
    alice: Persona, alice_key: Signer, anonymous: Persona, demo_version: Any, make_bundle: Any
) -> None:
    body = upload(
        alice, make_bundle(demo_version, alice_key, model=MODEL, claimed_accuracy=0.10)
    ).json()
    services.process_submission(body["id"])
    submission = Submission.objects.get(pk=body["id"])
    assert submission.status == Submission.Status.SCORED
    assert "accuracy-claim-gap" not in submission.labels
    assert not [c for c in submission.report["checks"] if c["code"] == "accuracy.claim_gap"]
    assert submission.review == Submission.Review.NONE
    assert [r["model"] for r in _leaderboard(anonymous)] == [MODEL]


def test_every_item_has_a_stored_result(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    """Per-query drill-down: correct / incorrect / unscored, with the extracted answer and why."""
    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    services.process_submission(body["id"])
    evaluation = Submission.objects.get(pk=body["id"]).current_evaluation
    rows = query_rows(evaluation)
    assert [r.position for r in rows] == list(range(demo_version.item_count))
    assert {r.status for r in rows} == {"correct", "incorrect", "unscored"}
    assert all(r.reason for r in rows)
    closed = [r for r in rows if r.method in ("letter_match", "numeric_match")]
    assert all(r.extracted for r in closed if r.status == "correct")
    assert sum(r.status == "correct" for r in rows) == evaluation.n_correct
