"""Re-scoring on real components: a Celery worker consuming only the ``scoring`` queue, Redis,
PostgreSQL, and a local judge over HTTP that only the worker is configured to use.

A submission scored without a judge has unscored open-ended items; the staff task
``rescore_dataset_version`` (sent to the broker like the admin action does) fans out on the scoring
queue, and the worker records a judged evaluation beside the first one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from submissions import services, tasks
from submissions.models import Evaluation, Submission
from tests.conftest import Persona, Signer, upload
from tests.perquery import query_rows
from tests.services import database_url, start_celery_worker
from tests.test_judge_server import LocalJudgeServer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def judge_server() -> Iterator[LocalJudgeServer]:
    with LocalJudgeServer() as server:
        yield server


@pytest.fixture
def scoring_worker(tmp_path: Path, settings: Any, judge_server: LocalJudgeServer) -> Iterator[Any]:
    from django.db import connection

    if not os.environ.get("REDIS_URL"):
        pytest.fail("REDIS_URL is not set: run the suite with `make test`")
    from ipwboard.celery import app

    app.control.purge()
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "IPWBOARD_DATA_DIR": str(settings.DATA_DIR),
        "REDIS_URL": os.environ["REDIS_URL"],
        "IPWBOARD_ENV": "test",
        "IPWBOARD_JUDGE_URL": judge_server.url,
        "IPWBOARD_JUDGE_MODEL": "local-judge-1",
    }
    with start_celery_worker(env, ["scoring"], tmp_path / "worker.log") as proc:
        yield proc


def test_dataset_rescore_runs_on_the_scoring_worker(
    scoring_worker: Any,
    judge_server: LocalJudgeServer,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
) -> None:
    from ipwboard.celery import app

    settings.IPWBOARD_JUDGE_URL = ""  # this process scores without a judge
    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    services.process_submission(body["id"])
    submission = Submission.objects.get(pk=body["id"])
    first = submission.current_evaluation
    assert first.n_scored == first.n_queries - 10

    # Through the project's app explicitly, as the admin action does in a web process: a bare
    # ``Celery(...)`` created by another test may have become celery's "current app".
    app.tasks[tasks.rescore_dataset_version.name].delay(demo_version.pk)

    deadline = time.monotonic() + 90
    while Evaluation.objects.filter(submission=submission).count() < 2:
        assert scoring_worker.poll() is None, "the worker died"
        assert time.monotonic() < deadline, "no re-scored evaluation after 90 s"
        time.sleep(0.5)
    submission.refresh_from_db()
    judged = submission.current_evaluation
    assert judged.pk != first.pk
    assert "+judge:" in judged.scorer_version
    assert judged.n_scored == judged.n_queries
    assert len(query_rows(judged)) == judged.n_queries
    assert len(judge_server.requests) == 20
    assert Evaluation.objects.filter(pk=first.pk).exists()


def test_new_submission_is_judged_on_the_scoring_worker(
    scoring_worker: Any,
    judge_server: LocalJudgeServer,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
) -> None:
    """The validation step (this process, judge configured) never calls the judge: it records the
    submission JUDGING and sends the judging task on commit; only the scoring worker calls it."""
    from ipwboard.celery import app

    settings.IPWBOARD_JUDGE_URL = judge_server.url
    settings.IPWBOARD_JUDGE_MODEL = "local-judge-1"
    # Sent through the project's app (see above), as the on-commit hook does in a worker.
    from submissions.services import queue

    original = queue._app
    queue._app = lambda: app  # type: ignore[assignment]
    try:
        body = upload(alice, make_bundle(demo_version, alice_key)).json()
        services.process_submission(body["id"])
    finally:
        queue._app = original  # type: ignore[assignment]
    submission = Submission.objects.get(pk=body["id"])
    assert submission.status in (Submission.Status.JUDGING, Submission.Status.SCORED)
    first = submission.evaluations.order_by("pk").first()
    assert first is not None and first.n_scored == first.n_queries - 10

    deadline = time.monotonic() + 90
    while Submission.objects.get(pk=body["id"]).status != Submission.Status.SCORED:
        assert scoring_worker.poll() is None, "the worker died"
        assert time.monotonic() < deadline, "not judged after 90 s"
        time.sleep(0.5)
    submission.refresh_from_db()
    judged = submission.current_evaluation
    assert judged.pk != first.pk and "+judge:" in judged.scorer_version
    assert judged.n_scored == judged.n_queries
    assert len(judge_server.requests) == 20  # every call made by the scoring worker
