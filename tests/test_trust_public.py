"""Issue 12, finding 8: one rule for what is public (``Submission.objects.public()``), read by the
API, the pages, the exports, the badges and the downloads. The per-endpoint matrix of held,
denied, hidden, withdrawn and superseded submissions is in ``tests/test_authz.py``."""

from __future__ import annotations

from typing import Any

from submissions import services
from submissions.models import Submission
from tests.conftest import Persona, Signer, make_signer
from tests.test_api_support import queued, scored
from tests.test_authz import NOT_PUBLIC, _not_public


def test_a_denied_submission_is_not_public_through_the_api(
    alice: Persona,
    bob: Persona,
    staff: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    """The finding: the API hid only pending ones, so a staff-denied result stayed public."""
    submission = scored(alice, alice_key, demo_version, make_bundle)
    services.moderate_submission(submission, staff.user, "deny")
    url = f"/api/v1/submissions/{submission.pk}/"

    assert anonymous.api.get(url).status_code == 404
    assert bob.api.get(url).status_code == 404
    assert alice.api.get(url).status_code == 200  # its owner still follows it
    assert staff.api.get(url).status_code == 200


def test_public_queryset_and_is_ranked_agree(
    alice: Persona, staff: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any
) -> None:
    """``is_ranked`` (one loaded row) and ``objects.public()`` (SQL) are the same rule."""
    rows = _not_public(alice, alice_key, staff, demo_version, make_bundle)
    rows["public"] = scored(alice, alice_key, demo_version, make_bundle)
    rows["queued"] = queued(alice, alice_key, demo_version, make_bundle)
    pending = scored(alice, alice_key, demo_version, make_bundle)
    pending.catalog_pending = True
    pending.save(update_fields=["catalog_pending"])
    rows["catalog_pending"] = pending
    rejected = queued(alice, make_signer(), demo_version, make_bundle)  # unknown key
    services.process_submission(rejected.pk)
    rows["rejected"] = Submission.objects.get(pk=rejected.pk)
    assert rows["rejected"].status == Submission.Status.REJECTED

    public = set(Submission.objects.public().values_list("pk", flat=True))
    ranked = {s.pk for s in Submission.objects.all() if s.is_ranked}
    assert public == ranked
    assert public == {rows["public"].pk, rows["replacement"].pk}


def test_the_board_shows_only_public_submissions(
    alice: Persona,
    staff: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
) -> None:
    """Leaderboard API, exports, the pair page and its badge: the public ones only (all of these
    submissions are of the same pair)."""
    from ipwboard.board import exports
    from ipwboard.board.pairs import PairKey

    hidden_ones = _not_public(alice, alice_key, staff, demo_version, make_bundle)
    shown = {str(hidden_ones.pop("replacement").pk)}
    secret = {str(s.pk) for s in hidden_ones.values()}
    assert set(hidden_ones) == set(NOT_PUBLIC)

    rows = anonymous.api.get("/api/v1/leaderboard/", {"all": "1"}).json()
    assert {row["submission"] for row in rows} == shown
    exported = {row["submission_id"] for row in exports.board_rows()}
    assert exported == shown

    key = PairKey.of(Submission.objects.get(pk=next(iter(shown))))
    page = anonymous.client.get(key.url()).content.decode()
    assert next(iter(shown)) in page
    assert not [pk for pk in secret if pk in page]
    assert anonymous.client.get(key.badge_url()).status_code == 200
