"""Correcting a submission: the owner re-submits the same measured run with corrected metadata.

Through the API (upload field ``supersedes``) and the pipeline: a plain re-submission is a replay;
with ``supersedes`` the new row takes over every fingerprint of the old one, the old one leaves
the board, its permalink leads to the new one, and nothing else can be superseded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from submissions import services
from submissions.models import Fingerprint, Submission
from tests.conftest import BundleFactory, Persona, Signer

pytestmark = pytest.mark.django_db(transaction=True)

OLD_HW, NEW_HW = "Demo Workstation GPU", "Demo Datacenter GPU"


def _relabel(manifest: dict[str, Any]) -> None:
    """The corrected metadata: the same measured run, on the hardware it really ran on."""
    from submissions import demo

    hw = demo.find_hardware(NEW_HW)
    manifest["hardware"].update(
        label=hw.label, accelerator=hw.accelerator, vendor=hw.vendor, tdp_w=hw.tdp_w
    )


def _submit(persona: Persona, path: Path, supersedes: str = "") -> Any:
    data: dict[str, Any] = {"supersedes": supersedes} if supersedes else {}
    with path.open("rb") as fh:
        return persona.api.post("/api/v1/submissions/", {"bundle": fh, **data}, format="multipart")


def _scored(persona: Persona, path: Path, supersedes: str = "") -> Submission:
    response = _submit(persona, path, supersedes)
    assert response.status_code == 201, response.content
    services.process_submission(response.json()["id"])
    return Submission.objects.get(pk=response.json()["id"])


@pytest.fixture
def run_pair(demo_version: Any, make_bundle: BundleFactory, alice_key: Signer) -> tuple[Path, Path]:
    """One measured run packed twice: with the wrong hardware, then with it corrected."""
    wrong = make_bundle(demo_version, alice_key, hardware=OLD_HW, seed=41)
    right = make_bundle(demo_version, alice_key, hardware=OLD_HW, seed=41, mutate_manifest=_relabel)
    return wrong, right


def test_a_corrected_resubmission_replaces_the_old_row(
    alice: Persona, anonymous: Persona, run_pair: tuple[Path, Path]
) -> None:
    wrong, right = run_pair
    old = _scored(alice, wrong)
    assert old.status == "scored", old.report
    old_prints = set(
        Fingerprint.objects.filter(submission=old).values_list("kind", "value", named=False)
    )
    assert ("run", old.run_id) in old_prints

    # Without asking to supersede, the corrected bundle is a replay of the accepted run.
    replay = _scored(alice, right)
    assert replay.status == "rejected" and replay.error_code.startswith("bundle.replay.")
    page = alice.client.get(f"/submissions/{replay.pk}/").content.decode()  # the owner's view
    assert 'data-outcome="rejected"' in page and "Rejected: not on the board" in page
    assert "a replay needs a new run" in page

    new = _scored(alice, right, supersedes=str(old.pk))
    assert new.status == "scored", new.report
    assert new.hardware.label == NEW_HW and new.run_id == old.run_id
    # Identical trace, but it is the run's own: not flagged as a trace replay of the old row.
    assert "trace-replay-suspect" not in new.labels and new.review == "none"
    old.refresh_from_db()
    assert old.superseded_by_id == new.pk
    # Every fingerprint of the old row (all kinds) is now the new one's: the run stays spent.
    assert not Fingerprint.objects.filter(submission=old).exists()
    new_prints = set(Fingerprint.objects.filter(submission=new).values_list("kind", "value"))
    assert old_prints <= new_prints

    # The API tells its owner what happened, in the status page's words (for anyone else it is
    # no longer public); the old permalink leads everyone on.
    assert anonymous.api.get(f"/api/v1/submissions/{old.pk}/").status_code == 404
    body = alice.api.get(f"/api/v1/submissions/{old.pk}/").json()
    assert body["outcome"]["code"] == "superseded"
    assert body["outcome"]["replacement"] == str(new.pk) and body["superseded_by"] == str(new.pk)
    page = anonymous.client.get(f"/submissions/{old.pk}/")
    assert page.status_code == 302 and page["Location"] == f"/submissions/{new.pk}/"
    final = anonymous.client.get(f"/submissions/{old.pk}/", follow=True)
    assert final.status_code == 200 and str(new.pk) in final.content.decode()
    assert 'data-outcome="ranked"' in final.content.decode()

    # The board shows the corrected row only.
    board = anonymous.client.get("/").content.decode()
    assert NEW_HW in board and OLD_HW not in board
    new_body = anonymous.api.get(f"/api/v1/submissions/{new.pk}/").json()
    assert new_body["outcome"]["code"] == "ranked"
    assert new_body["outcome"]["pair_url"].endswith("/")
    assert anonymous.client.get(new_body["outcome"]["pair_url"]).status_code == 200

    # The old row cannot be superseded twice, and the corrected run not submitted again.
    again = _submit(alice, right, supersedes=str(old.pk))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "supersede.not_allowed"
    assert "already replaced" in again.json()["error"]["message"]


def test_only_the_same_measured_run_can_supersede(
    alice: Persona, demo_version: Any, make_bundle: BundleFactory, alice_key: Signer
) -> None:
    old = _scored(alice, make_bundle(demo_version, alice_key, seed=51))
    other_run = make_bundle(demo_version, alice_key, seed=52)
    new = _scored(alice, other_run, supersedes=str(old.pk))
    assert new.status == "rejected"
    assert new.error_code == "bundle.supersede.mismatch"
    assert "another measured run" in new.report["error"]["message"]
    old.refresh_from_db()
    assert old.superseded_by_id is None
    assert Fingerprint.objects.filter(submission=old, kind="run").exists()
    # A different run without a trace: the members differ too.
    assert not Fingerprint.objects.filter(submission=new).exists()


def test_supersede_is_refused_at_upload_unless_own_and_accepted(
    alice: Persona,
    bob: Persona,
    demo_version: Any,
    make_bundle: BundleFactory,
    alice_key: Signer,
) -> None:
    old = _scored(alice, make_bundle(demo_version, alice_key, seed=61))
    bundle = make_bundle(demo_version, alice_key, seed=61, mutate_manifest=_relabel)
    for persona, target, words in (
        (bob, str(old.pk), "no submission with this id"),  # someone else's: not even confirmed
        (alice, "not-a-uuid", "no submission with this id"),
        (alice, "00000000-0000-4000-8000-000000000000", "no submission with this id"),
    ):
        refused = _submit(persona, bundle, supersedes=target)
        assert refused.status_code == 409, refused.content
        assert refused.json()["error"]["code"] == "supersede.not_allowed"
        assert words in refused.json()["error"]["message"]

    withdrawn = alice.api.post(f"/api/v1/submissions/{old.pk}/withdraw/", {}, format="json")
    assert withdrawn.status_code == 200
    # The withdrawal's own answer says that the run id is now spent.
    assert withdrawn.json()["outcome"]["code"] == "withdrawn"
    assert "cannot be submitted again" in withdrawn.json()["outcome"]["next_step"]
    refused = _submit(alice, bundle, supersedes=str(old.pk))
    assert refused.status_code == 409 and "withdrawn" in refused.json()["error"]["message"]
    assert not Submission.objects.filter(replaces=old).exists()
