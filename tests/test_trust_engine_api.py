"""Issue 12, findings 2, 3, 4 and 9, through the API and the worker's service (in-process; the real
worker process is in test_trust_engine_worker):

2. zero-energy runs are rejected with their own code, not a worker crash;
3. a re-encoded copy of another account's run is refused (``bundle.replay.content``), a near-copy
   is held (``replay.content_similar``), an honest re-measurement of the same answers is not;
4. pasted reference answers are held (``responses.copy_reference``), and the board says which
   rankings keep their references private;
9. the server's flags survive judging and re-scoring.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from submissions import services
from submissions.models import Submission
from submissions.services.rescore import complete_judging, rescore_submission
from tests.conftest import Persona, Signer, make_signer, upload
from tests.perquery import query_rows

sys.path.insert(0, str(Path(__file__).parent / "evaluator"))  # the bad-bundle corpus package
from badbundles import NEAR_COPY, REENCODINGS, Reencoding, reencode
from badbundles.rewrite import signature_for

REMEASURED = Reencoding(shuffle_seed=2, drop_trace=True, scale_energy=1.05)  # 5 %: a new run


def _run(persona: Persona, path: Path) -> Submission:
    response = upload(persona, path)
    assert response.status_code == 201, response.content
    services.process_submission(response.json()["id"])
    return Submission.objects.get(pk=response.json()["id"])


def _rewrite_queries(path: Path, out: Path, signer: Signer, change: Any) -> Path:
    """``path`` with its queries table changed by ``change(table)``, re-signed by ``signer``."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    table = change(pq.read_table(io.BytesIO(members["queries.parquet"])))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    members["queries.parquet"] = sink.getvalue()
    members.pop("signature.dsse.json")
    members["signature.dsse.json"] = signature_for(members, signer.key)
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def _set(table: pa.Table, name: str, values: list[Any]) -> pa.Table:
    index = table.schema.get_field_index(name)
    table = table.set_column(index, table.schema.field(index), pa.array(values))
    if name == "energy_j":  # the phase split of the old energies would no longer add up
        table = table.drop_columns(
            [c for c in ("prefill_energy_j", "decode_energy_j") if c in table.column_names]
        )
    return table


def _check(submission: Submission, code: str) -> dict[str, Any]:
    [check] = [c for c in submission.report["checks"] if c["code"] == code]
    return check


def _ranked(persona: Persona) -> list[str]:
    return [row["submission"] for row in persona.api.get("/api/v1/leaderboard/").json()]


# -- 2. zero energy -------------------------------------------------------------------------------


@pytest.mark.parametrize("real_rows", [0, 1], ids=["all-zero", "all-zero-but-one"])
def test_zero_energy_runs_are_rejected_with_their_own_code(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    tmp_path: Path,
    real_rows: int,
) -> None:
    def zero(table: pa.Table) -> pa.Table:
        energy = table.column("energy_j").to_pylist()
        return _set(table, "energy_j", energy[:real_rows] + [0.0] * (len(energy) - real_rows))

    original = make_bundle(demo_version, alice_key, with_trace=False)
    bundle = _rewrite_queries(original, tmp_path / "zero.ipwb", alice_key, zero)
    submission = _run(alice, bundle)

    assert submission.status == Submission.Status.REJECTED  # not FAILED internal.error
    assert submission.error_code == "bundle.queries.energy_zero"
    body = alice.api.get(f"/api/v1/submissions/{submission.pk}/").json()
    error = body["report"]["error"]
    assert error["code"] == "bundle.queries.energy_zero"
    assert f"{60 - real_rows} of 60 queries read energy_j = 0" in error["message"]
    assert (error["file"], error["field"]) == ("queries.parquet", "energy_j")


def test_a_few_zero_energy_rows_are_imputed_and_labelled(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, tmp_path: Path
) -> None:
    def three_zeros(table: pa.Table) -> pa.Table:
        energy = table.column("energy_j").to_pylist()
        for row in (3, 17, 40):
            energy[row] = 0.0
        return _set(table, "energy_j", energy)

    original = make_bundle(demo_version, alice_key, with_trace=False)
    bundle = _rewrite_queries(original, tmp_path / "three.ipwb", alice_key, three_zeros)
    submission = _run(alice, bundle)
    assert submission.status == Submission.Status.SCORED, submission.report
    assert "energy-imputed" in submission.labels
    assert _check(submission, "queries.energy_zero")["message"].startswith("3 of 60 queries")
    evaluation = submission.current_evaluation
    energies = np.array([r.energy_j for r in query_rows(evaluation)])
    assert int((energies == 0).sum()) == 3  # the per-query data keeps the raw 0 J
    assert evaluation.total_energy_j > energies.sum()  # the metrics count them as imputed


# -- 3. replay by re-encoding ---------------------------------------------------------------------


@pytest.mark.parametrize("how", list(REENCODINGS), ids=list(REENCODINGS))
def test_a_reencoded_copy_under_another_account_is_refused(
    alice: Persona,
    alice_key: Signer,
    bob: Persona,
    demo_version: Any,
    make_bundle: Any,
    tmp_path: Path,
    how: str,
) -> None:
    original = _run(alice, path := make_bundle(demo_version, alice_key))
    assert original.status == Submission.Status.SCORED, original.report
    bob_key = make_signer(bob.user)
    copy = _run(bob, reencode(path, tmp_path / "copy.ipwb", REENCODINGS[how], bob_key.key))

    assert copy.status == Submission.Status.REJECTED
    assert copy.error_code == "bundle.replay.content"
    body = bob.api.get(f"/api/v1/submissions/{copy.pk}/").json()
    assert body["report"]["error"]["code"] == "bundle.replay.content"
    assert str(original.pk) not in body["report"]["error"]["message"]  # none of bob's business
    assert _ranked(bob) == [str(original.pk)]


def test_a_near_copy_is_held_and_a_remeasurement_is_not(
    alice: Persona,
    alice_key: Signer,
    bob: Persona,
    demo_version: Any,
    make_bundle: Any,
    tmp_path: Path,
) -> None:
    original = _run(alice, path := make_bundle(demo_version, alice_key, with_trace=False))
    bob_key = make_signer(bob.user)
    near = _run(bob, reencode(path, tmp_path / "near.ipwb", NEAR_COPY, bob_key.key))
    assert near.status == Submission.Status.SCORED, near.report
    assert near.review == Submission.Review.PENDING
    assert {"content-replay-suspect", "provisional"} <= set(near.labels)
    check = _check(near, "replay.content_similar")
    assert check["status"] == "warn" and str(original.pk) in check["message"]
    assert "replay.content_similar" in [c["code"] for c in near.current_evaluation.checks]
    assert str(near.pk) not in _ranked(bob)

    # The same answers measured again (energies 5 % off): an honest run of a deterministic model.
    again = _run(bob, reencode(path, tmp_path / "again.ipwb", REMEASURED, bob_key.key))
    assert again.status == Submission.Status.SCORED, again.report
    assert "content-replay-suspect" not in again.labels
    assert not [c for c in again.report["checks"] if c["code"] == "replay.content_similar"]


# -- 4. pasted reference answers ------------------------------------------------------------------


def test_pasted_reference_answers_are_held_for_review(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    tmp_path: Path,
    anonymous: Persona,
) -> None:
    items = {item.id: item for item in services.engine_dataset(demo_version).items}

    def paste(table: pa.Table) -> pa.Table:
        ids = table.column("query_id").to_pylist()
        responses = table.column("response").to_pylist()
        pasted = [
            f"Answer: {items[i].reference}" if items[i].method == "llm_judge" else r
            for i, r in zip(ids, responses, strict=True)
        ]
        return _set(table, "response", pasted)

    original = make_bundle(demo_version, alice_key, with_trace=False)
    submission = _run(alice, _rewrite_queries(original, tmp_path / "paste.ipwb", alice_key, paste))
    assert submission.status == Submission.Status.SCORED, submission.report
    assert submission.review == Submission.Review.PENDING
    check = _check(submission, "responses.copy_reference")
    assert check["status"] == "warn"
    assert check["message"].startswith("10 of 10 free-form responses (100%) reproduce")
    assert "reference-copy-suspect" in submission.labels
    assert str(submission.pk) not in _ranked(anonymous)

    honest = _run(alice, make_bundle(demo_version, alice_key, with_trace=False))
    assert _check(honest, "responses.copy_reference")["status"] == "pass"
    assert honest.review == Submission.Review.NONE


def test_the_board_marks_rankings_whose_references_are_private(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, anonymous: Persona
) -> None:
    assert _run(alice, make_bundle(demo_version, alice_key)).status == Submission.Status.SCORED
    page = anonymous.client.get("/").content.decode()
    assert "references public" in page and "references private" not in page
    demo_version.references_private = True
    demo_version.save(update_fields=["references_private"])
    from submissions.signals import board_changed

    board_changed.send(Submission, submission_id=None)
    page = anonymous.client.get("/").content.decode()
    assert "references private" in page
    assert 'href="/methodology/#private-references"' in page
    methodology = anonymous.client.get("/methodology/").content.decode()
    assert 'id="private-references"' in methodology
    assert "pasting" in methodology


# -- 9. server flags survive judging and re-scoring ----------------------------------------------


def _flagged_copy(
    alice: Persona, alice_key: Signer, bob: Persona, demo_version: Any, make_bundle: Any, tmp: Path
) -> Submission:
    """Bob's near-copy of Alice's run, trace included: both server flags (trace and content)."""
    path = make_bundle(demo_version, alice_key)
    first = _run(alice, path)
    assert first.status in (Submission.Status.SCORED, Submission.Status.JUDGING)
    if first.status == Submission.Status.JUDGING:
        complete_judging(first.pk)
    bob_key = make_signer(bob.user)
    near = Reencoding(shuffle_seed=4, scale_energy=1.0001)  # trace kept, re-encoded
    return _run(bob, reencode(path, tmp / "near.ipwb", near, bob_key.key))


SERVER_LABELS = {"trace-replay-suspect", "content-replay-suspect"}
SERVER_CHECKS = {"replay.trace_similar", "replay.content_similar"}


def _assert_flags_kept(submission: Submission) -> None:
    submission.refresh_from_db()
    assert set(submission.labels) >= SERVER_LABELS, submission.labels
    assert {c["code"] for c in submission.report["checks"]} >= SERVER_CHECKS
    evaluation = submission.current_evaluation
    assert set(evaluation.labels) >= SERVER_LABELS
    assert {c["code"] for c in evaluation.checks} >= SERVER_CHECKS
    assert submission.review == Submission.Review.PENDING


def test_server_flags_survive_judging(
    alice: Persona,
    alice_key: Signer,
    bob: Persona,
    demo_version: Any,
    make_bundle: Any,
    tmp_path: Path,
    settings: Any,
) -> None:
    from tests.test_judge_server import LocalJudgeServer, use_judge

    with LocalJudgeServer() as judge:
        use_judge(settings, judge)
        copy = _flagged_copy(alice, alice_key, bob, demo_version, make_bundle, tmp_path)
        assert copy.status == Submission.Status.JUDGING
        first_evaluation = copy.current_evaluation_id
        assert complete_judging(copy.pk).outcome == "created"
    copy.refresh_from_db()
    assert copy.status == Submission.Status.SCORED
    assert copy.current_evaluation_id != first_evaluation
    _assert_flags_kept(copy)


def test_server_flags_survive_rescoring(
    alice: Persona,
    alice_key: Signer,
    bob: Persona,
    demo_version: Any,
    make_bundle: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_rescore import bump_scorer

    copy = _flagged_copy(alice, alice_key, bob, demo_version, make_bundle, tmp_path)
    assert copy.status == Submission.Status.SCORED
    _assert_flags_kept(copy)
    bump_scorer(monkeypatch)
    assert rescore_submission(copy.pk).outcome == "created"
    _assert_flags_kept(copy)
    # Kept once, not once per re-scoring.
    codes = [c["code"] for c in copy.report["checks"]]
    assert codes.count("replay.trace_similar") == codes.count("replay.content_similar") == 1
    assert json.dumps(copy.labels).count("trace-replay-suspect") == 1
