"""Issue 12, finding 12: messages that do not mislead, through the API and the worker's logic.

The bundles are the bad-bundle corpus's (``tests/evaluator/badbundles``); this checks what the
submitter reads in the report, which the corpus test (codes only) does not. The read-token
message is tested in ``test_trust_accounts.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from evaluator.keys import encode_public_key, public_key_bytes
from evaluator.limits import DEFAULT_LIMITS
from submissions import services
from submissions.models import Submission
from tests.conftest import ROOT, Persona, Signer, upload

if str(ROOT / "tests" / "evaluator") not in sys.path:  # the corpus imports itself as badbundles
    sys.path.insert(0, str(ROOT / "tests" / "evaluator"))

from badbundles import CORPUS_KEY, cases_archive, cases_messages


def _rejected(persona: Persona, path: Path) -> dict[str, Any]:
    response = upload(persona, path)
    assert response.status_code == 201, response.content
    services.process_submission(response.json()["id"])
    submission = Submission.objects.get(pk=response.json()["id"])
    assert submission.status == Submission.Status.REJECTED
    error: dict[str, Any] = submission.report["error"]
    # What the API hands the submitter is the same report.
    api = persona.api.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert api["report"]["error"] == error
    return error


def test_too_many_members_states_the_real_limit(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, tmp_path: Path
) -> None:
    bad = cases_archive.too_many_members(make_bundle(demo_version, alice_key), tmp_path)
    error = _rejected(alice, bad)
    assert error["code"] == "bundle.archive.too_many_members"
    assert f"the limit is {DEFAULT_LIMITS.max_members}" in error["message"]
    assert "at most 4" not in error["message"]


def _corpus_key_for(persona: Persona) -> None:
    """The corpus re-signs its bundles with CORPUS_KEY: let it be this persona's key."""
    services.register_signing_key(
        persona.user, encode_public_key(public_key_bytes(CORPUS_KEY)), "corpus"
    )


def test_a_ten_thousand_character_model_id_is_not_echoed(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, tmp_path: Path
) -> None:
    _corpus_key_for(alice)
    valid = make_bundle(demo_version, alice_key)
    error = _rejected(alice, cases_messages.model_id_of_ten_thousand_characters(valid, tmp_path))
    assert error["code"] == "bundle.manifest.invalid"
    assert error["field"] == "model.id"
    assert len(error["message"]) < 400, len(error["message"])
    assert "mmmm" in error["message"] and "…" in error["message"]  # named, clipped


def test_a_ten_thousand_character_duplicate_key_is_not_echoed(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, tmp_path: Path
) -> None:
    _corpus_key_for(alice)
    valid = make_bundle(demo_version, alice_key)
    bad = cases_messages.duplicate_key_of_ten_thousand_characters(valid, tmp_path)
    error = _rejected(alice, bad)
    assert error["code"] == "bundle.json.duplicate_key"
    assert len(error["message"]) < 400 and "…" in error["message"]
