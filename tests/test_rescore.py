"""Re-scoring: a new scorer version (or judge) adds an Evaluation beside the old one; the same rules
are a no-op; the dataset-wide staff action fans out on the scoring queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.storage import default_storage

from evaluator.errors import BundleError
from evaluator.scoring import SCORER_VERSION
from submissions import services, tasks
from submissions.models import AuditLog, Evaluation, JudgeVerdict, Submission
from submissions.services.rescore import (
    rescore_plan,
    rescore_submission,
    target_scorer_version,
)
from submissions.signals import board_changed
from tests.conftest import Persona, Signer, upload
from tests.perquery import query_rows
from tests.test_judge_server import LocalJudgeServer, scored, use_judge

NEW_VERSION = "2099.1.0"


@pytest.fixture
def judge_server() -> Iterator[LocalJudgeServer]:
    with LocalJudgeServer() as server:
        yield server


def bump_scorer(monkeypatch: pytest.MonkeyPatch) -> str:
    """As if the scorers changed behaviour and bumped SCORER_VERSION (after a first scoring)."""
    monkeypatch.setattr("evaluator.scoring.SCORER_VERSION", NEW_VERSION)
    monkeypatch.setattr("evaluator.engine.SCORER_VERSION", NEW_VERSION)
    return NEW_VERSION


@pytest.fixture
def board_signals() -> Iterator[list[Any]]:
    sent: list[Any] = []

    def receiver(sender: Any, submission_id: Any, **kwargs: Any) -> None:
        sent.append(submission_id)

    board_changed.connect(receiver, dispatch_uid="test-rescore")
    yield sent
    board_changed.disconnect(dispatch_uid="test-rescore")


def _scored(persona: Persona, path: Any) -> Submission:
    submission = scored(persona, path)
    assert submission.status == Submission.Status.SCORED, submission.report
    return submission


def test_same_rules_is_a_noop_without_running_the_engine(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submission = _scored(alice, make_bundle(demo_version, alice_key))

    def boom(*args: Any) -> None:
        raise AssertionError("the engine must not run for a no-op re-score")

    monkeypatch.setattr("submissions.services.rescore._evaluate", boom)
    outcome = rescore_submission(submission.pk)
    assert (outcome.outcome, outcome.scorer_version) == ("unchanged", SCORER_VERSION)
    assert Evaluation.objects.filter(submission=submission).count() == 1
    assert rescore_plan(demo_version).noop


def test_new_scorer_version_adds_an_evaluation_and_keeps_the_old(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    board_signals: list[Any],
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submission = _scored(alice, make_bundle(demo_version, alice_key))
    new_scorer = bump_scorer(monkeypatch)
    first = submission.current_evaluation
    first_rows = [
        tuple(getattr(r, n) for n in ("query_id", "status", "extracted", "reason"))
        for r in query_rows(first)
    ]
    assert target_scorer_version(demo_version) == new_scorer
    plan = rescore_plan(demo_version)
    assert (plan.total, plan.pending, plan.scorer_version) == (1, 1, new_scorer)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = rescore_submission(submission.pk)
    assert outcome.outcome == "created"
    assert board_signals == [submission.pk]

    submission.refresh_from_db()
    evaluations = Evaluation.objects.filter(submission=submission)
    assert sorted(evaluations.values_list("scorer_version", flat=True)) == sorted(
        [SCORER_VERSION, new_scorer]
    )
    new = submission.current_evaluation
    assert new.scorer_version == new_scorer and new.pk != first.pk
    # The old evaluation keeps its figures as history; its per-query file is released (only the
    # current evaluation's rows are ever read: no second full copy of a million rows, issue 13).
    old_file = first.queries_file.name
    first_figures = (first.accuracy, first.ipw, first.n_correct)
    first.refresh_from_db()
    assert (first.accuracy, first.ipw, first.n_correct) == first_figures
    assert first.queries_file.name == "" and not default_storage.exists(old_file)
    assert len(first_rows) == first.n_queries
    # The new one has its own per-query results with the extracted answer and the reason.
    rows = query_rows(new)
    assert len(rows) == new.n_queries == demo_version.item_count
    assert all(r.reason for r in rows)
    assert all(r.extracted for r in rows if r.status != "unscored")
    assert new.accuracy == pytest.approx(first.accuracy)  # same scorers, in fact
    # The API and the audit log tell the story.
    shown = alice.api.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert shown["evaluation"]["scorer_version"] == new_scorer
    audit = AuditLog.objects.get(action="submission.rescore", target=str(submission.pk))
    assert audit.detail["outcome"] == "created"
    assert audit.detail["previous_evaluation"] == first.pk

    # Twice is once.
    assert rescore_submission(submission.pk).outcome == "unchanged"
    assert evaluations.count() == 2


def test_judge_is_part_of_the_key_and_the_cache_saves_calls(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.IPWBOARD_JUDGE_URL = ""
    submission = _scored(alice, make_bundle(demo_version, alice_key))
    unjudged = submission.current_evaluation
    assert "unscored-items" in submission.labels

    # Turning a judge on makes open-ended datasets re-scorable: same engine, new key.
    use_judge(settings, judge_server)
    outcome = rescore_submission(submission.pk)
    assert outcome.outcome == "created"
    assert outcome.scorer_version.startswith(f"{SCORER_VERSION}+judge:")
    submission.refresh_from_db()
    judged = submission.current_evaluation
    assert judged.n_scored == judged.n_queries > unjudged.n_scored
    assert "unscored-items" not in submission.labels
    assert len(judge_server.requests) == 20
    assert JudgeVerdict.objects.count() == 10

    # A new scorer version re-scores again, and every verdict comes from the cache.
    bump_scorer(monkeypatch)
    again = rescore_submission(submission.pk)
    assert again.outcome == "created"
    assert again.scorer_version.startswith(f"{NEW_VERSION}+judge:")
    assert len(judge_server.requests) == 20  # no new calls
    submission.refresh_from_db()
    latest = submission.current_evaluation
    assert [
        tuple(getattr(r, n) for n in ("query_id", "status", "extracted"))
        for r in query_rows(latest)
    ] == [
        tuple(getattr(r, n) for n in ("query_id", "status", "extracted"))
        for r in query_rows(judged)
    ]
    assert Evaluation.objects.filter(submission=submission).count() == 3


def test_partial_judging_is_completed_by_a_later_rescore(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
) -> None:
    use_judge(settings, judge_server)
    judge_server.garbled = True  # the judge misbehaves during the first scoring
    submission = _scored(alice, make_bundle(demo_version, alice_key))
    partial = submission.current_evaluation
    assert partial.scorer_version.endswith("+partial")
    # Two rows so far: the validation worker's (no judge) and the judging task's (partial).
    assert Evaluation.objects.filter(submission=submission).count() == 2
    # While the judge still fails, re-scoring records nothing new.
    assert rescore_submission(submission.pk).outcome == "unchanged"
    assert Evaluation.objects.filter(submission=submission).count() == 2

    judge_server.garbled = False
    outcome = rescore_submission(submission.pk)
    assert outcome.outcome == "created"
    assert outcome.scorer_version == partial.scorer_version.removesuffix("+partial")
    submission.refresh_from_db()
    assert submission.current_evaluation.n_scored == submission.current_evaluation.n_queries
    assert Evaluation.objects.filter(pk=partial.pk).exists()  # kept


def test_a_refused_rescore_keeps_the_current_evaluation(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submission = _scored(alice, make_bundle(demo_version, alice_key))
    current = submission.current_evaluation_id
    bump_scorer(monkeypatch)

    def refuse(*args: Any) -> None:
        raise BundleError(
            "bundle.queries.negative_value", "a newer engine check refuses this bundle"
        )

    monkeypatch.setattr("submissions.services.rescore._evaluate", refuse)
    outcome = rescore_submission(submission.pk)
    assert outcome.outcome == "refused"
    assert "bundle.queries.negative_value" in outcome.detail
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORED
    assert submission.current_evaluation_id == current
    audit = AuditLog.objects.get(action="submission.rescore", target=str(submission.pk))
    assert audit.detail["code"] == "bundle.queries.negative_value"


def test_unscored_submissions_are_skipped(
    alice: Persona, demo_version: Any, make_bundle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import make_signer

    body = upload(alice, make_bundle(demo_version, make_signer())).json()  # unknown key
    services.process_submission(body["id"])
    bump_scorer(monkeypatch)
    assert rescore_submission(body["id"]).outcome == "skipped"


def test_dataset_rescore_task_fans_out_per_submission(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.conftest import make_signer

    scored = [_scored(alice, make_bundle(demo_version, alice_key)) for _ in range(2)]
    rejected = upload(alice, make_bundle(demo_version, make_signer())).json()
    services.process_submission(rejected["id"])
    bump_scorer(monkeypatch)

    sent: list[str] = []

    def run_now(submission_id: Any) -> None:  # the worker, in-process
        sent.append(str(submission_id))
        assert tasks.rescore_submission(submission_id) == "created"

    monkeypatch.setattr("submissions.services.rescore.enqueue_rescore_submission", run_now)
    assert tasks.rescore_dataset_version(demo_version.pk) == 2
    assert sorted(sent) == sorted(str(s.pk) for s in scored)
    for submission in scored:
        assert Evaluation.objects.filter(submission=submission).count() == 2
    # Nothing left to do: a second run queues nothing.
    assert tasks.rescore_dataset_version(demo_version.pk) == 0


def test_rescore_tasks_run_on_the_scoring_queue() -> None:
    from ipwboard.celery import app

    for name in (
        "submissions.tasks.rescore_dataset_version",
        "submissions.tasks.rescore_submission",
    ):
        route = app.amqp.router.route({}, name, args=(), kwargs={})
        assert route["queue"].name == "scoring", name


def _superuser(persona: Persona) -> Persona:
    persona.user.is_superuser = True
    persona.user.save(update_fields=["is_superuser"])
    return persona


def test_admin_dataset_action_queues_or_says_noop(
    staff: Persona,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _superuser(staff)
    _scored(alice, make_bundle(demo_version, alice_key))
    queued: list[int] = []
    monkeypatch.setattr("submissions.services.rescore.enqueue_rescore_version", queued.append)
    url = "/admin/submissions/datasetversion/"
    data = {"action": "rescore_all", "_selected_action": [demo_version.pk]}

    with django_capture_on_commit_callbacks(execute=True):
        page = staff.client.post(url, data, follow=True).content.decode()
    assert "nothing to do" in page and SCORER_VERSION in page
    assert queued == []

    monkeypatch.setattr("evaluator.scoring.SCORER_VERSION", NEW_VERSION)
    with django_capture_on_commit_callbacks(execute=True):
        page = staff.client.post(url, data, follow=True).content.decode()
    assert "re-scoring 1 of 1" in page and NEW_VERSION in page
    assert queued == [demo_version.pk]


def test_admin_submission_action(
    staff: Persona,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _superuser(staff)
    submission = _scored(alice, make_bundle(demo_version, alice_key))
    queued: list[str] = []
    monkeypatch.setattr(
        "submissions.services.rescore.enqueue_rescore_submission",
        lambda pk: queued.append(str(pk)),
    )
    url = "/admin/submissions/submission/"
    data = {"action": "rescore", "_selected_action": [str(submission.pk)]}

    with django_capture_on_commit_callbacks(execute=True):
        page = staff.client.post(url, data, follow=True).content.decode()
    assert "Queued re-scoring of 0 submission(s)" in page and "no-op" in page
    assert queued == []

    monkeypatch.setattr("evaluator.scoring.SCORER_VERSION", NEW_VERSION)
    with django_capture_on_commit_callbacks(execute=True):
        page = staff.client.post(url, data, follow=True).content.decode()
    assert "Queued re-scoring of 1 submission(s)" in page
    assert queued == [str(submission.pk)]


def test_turning_the_judge_off_never_downgrades_judged_evaluations(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_judge(settings, judge_server)
    submission = _scored(alice, make_bundle(demo_version, alice_key))
    judged = submission.current_evaluation_id
    before = Evaluation.objects.filter(submission=submission).count()  # validation's + judged
    settings.IPWBOARD_JUDGE_URL = ""
    bump_scorer(monkeypatch)
    plan = rescore_plan(demo_version)
    assert (plan.total, plan.pending, plan.current, plan.held) == (1, 0, 0, 1)
    outcome = rescore_submission(submission.pk)
    assert outcome.outcome == "skipped" and "no judge" in outcome.detail
    submission.refresh_from_db()
    assert submission.current_evaluation_id == judged
    assert Evaluation.objects.filter(submission=submission).count() == before == 2
