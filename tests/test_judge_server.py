"""The LLM judge on the server, against a LOCAL OpenAI-compatible judge started by the test.

Never a real network call: the judge is an ``http.server`` on 127.0.0.1 that answers
``/v1/chat/completions`` with deterministic verdicts. The demo dataset's open-ended items are answered
either with the reference itself ("correct" runs) or with a vague non-answer; the local judge calls
identical answers a TIE and prefers any answer to the vague one, so the expected verdict of every
item is known.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evaluator.datasets import DatasetMeta, write_dataset
from evaluator.scoring import SCORER_VERSION
from submissions import services
from submissions.models import JudgeVerdict, Submission
from submissions.services.judging import configured_judge, judge_tag
from submissions.services.rescore import complete_judging
from tests.conftest import Persona, Signer, upload
from tests.perquery import query_rows

VAGUE = "it depends on many factors"  # submissions.demo's wrong open-ended answer
_ANSWER = re.compile(r"\[Answer (A|B)\]\n(.*?)\n\[End of answer \1\]", re.DOTALL)


class LocalJudgeServer:
    """A deterministic OpenAI-compatible judge on 127.0.0.1 (a random free port)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.garbled = False  # reply with something that is not a verdict
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                owner.headers.append(dict(self.headers))
                content = "I cannot decide." if owner.garbled else verdict(body)
                reply = json.dumps(
                    {
                        "id": f"local-{len(owner.requests)}",
                        "object": "chat.completion",
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalJudgeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def verdict(body: dict[str, Any]) -> str:
    answers = dict(_ANSWER.findall(body["messages"][-1]["content"]))
    first, second = answers["A"], answers["B"]
    if first == second:
        return "TIE"
    if VAGUE in first:
        return "B"
    if VAGUE in second:
        return "A"
    return "TIE"


def use_judge(settings: Any, server: LocalJudgeServer, model: str = "local-judge-1") -> None:
    settings.IPWBOARD_JUDGE_URL = server.url
    settings.IPWBOARD_JUDGE_MODEL = model
    settings.IPWBOARD_JUDGE_API_KEY = "test-judge-key"


def bundle_responses(path: Path) -> dict[str, str]:
    """query id -> response text, read straight from a bundle's queries.parquet."""
    import io
    import zipfile

    import pyarrow.parquet as pq

    with zipfile.ZipFile(path) as archive:
        table = pq.read_table(io.BytesIO(archive.read("queries.parquet")))
    ids, texts = table.column("query_id").to_pylist(), table.column("response").to_pylist()
    return dict(zip(ids, texts, strict=True))


@pytest.fixture
def judge_server() -> Iterator[LocalJudgeServer]:
    with LocalJudgeServer() as server:
        yield server


@pytest.fixture
def judging_sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """What would have been sent to the broker as judging tasks (nothing is sent)."""
    sent: list[tuple[str, ...]] = []
    from submissions.services import queue

    real_send = queue.send

    def send(name: str, *args: object) -> bool:
        if name != queue.JUDGE:
            return real_send(name, *args)
        sent.append(tuple(str(a) for a in args))
        return True

    monkeypatch.setattr(queue, "send", send)
    return sent


def scored(persona: Persona, path: Path) -> Submission:
    """Validation worker, then (when it hands over) the scoring queue's judging task."""
    body = upload(persona, path).json()
    services.process_submission(body["id"])
    if Submission.objects.get(pk=body["id"]).status == Submission.Status.JUDGING:
        complete_judging(body["id"])
    return Submission.objects.select_related("current_evaluation").get(pk=body["id"])


def _open_ended(submission: Submission) -> list[Any]:
    return query_rows(submission.current_evaluation, method="llm_judge")


def test_without_a_judge_open_ended_items_are_unscored(
    alice: Persona, alice_key: Signer, demo_version: Any, make_bundle: Any, settings: Any
) -> None:
    settings.IPWBOARD_JUDGE_URL = ""
    assert configured_judge() is None
    submission = scored(alice, make_bundle(demo_version, alice_key))
    evaluation = submission.current_evaluation
    rows = _open_ended(submission)
    assert len(rows) == 10
    assert {(r.status, r.reason) for r in rows} == {("unscored", "no judge configured")}
    assert evaluation.n_scored == evaluation.n_queries - 10
    assert evaluation.accuracy == pytest.approx(evaluation.n_correct / evaluation.n_scored)
    assert "unscored-items" in evaluation.labels
    assert "unscored-items" in submission.labels
    assert evaluation.scorer_version == SCORER_VERSION  # no judge, no judge tag
    page = alice.client.get(f"/submissions/{submission.pk}/").content.decode()
    assert f"{evaluation.n_scored} scored of {evaluation.n_queries}" in page


def test_local_judge_scores_open_ended_items(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
) -> None:
    use_judge(settings, judge_server)
    path = make_bundle(demo_version, alice_key)
    submission = scored(alice, path)
    assert submission.status == Submission.Status.SCORED, submission.report
    evaluation = submission.current_evaluation
    responses = bundle_responses(path)
    rows = _open_ended(submission)
    assert len(rows) == 10
    assert {r.status for r in rows} == {"correct", "incorrect"}  # this seed gives both
    for row in rows:
        # submissions.demo answers a "correct" item with the reference in other words.
        right = VAGUE not in responses[row.query_id]
        assert row.status == ("correct" if right else "incorrect"), (row.query_id, row.reason)
        assert row.extracted.startswith("candidate-first=")
        assert row.reason
    assert evaluation.n_scored == evaluation.n_queries
    assert "unscored-items" not in evaluation.labels
    # Two calls per item (both orders), with the configured model and key, over local HTTP.
    assert len(judge_server.requests) == 20
    assert {r["model"] for r in judge_server.requests} == {"local-judge-1"}
    assert {h["Authorization"] for h in judge_server.headers} == {"Bearer test-judge-key"}
    judge = configured_judge()
    assert judge is not None
    assert evaluation.scorer_version == f"{SCORER_VERSION}+judge:{judge_tag(judge.judge_id)}"
    [check] = [c for c in evaluation.checks if c["code"] == "scoring.judge"]
    assert judge.judge_id in check["message"]
    assert JudgeVerdict.objects.filter(judge_id=judge.judge_id).count() == 10


def test_validation_hands_open_ended_items_to_the_scoring_queue(
    alice: Persona,
    anonymous: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
    django_capture_on_commit_callbacks: Any,
    judging_sent: list[tuple[str, ...]],
) -> None:
    """The validation worker never calls the judge: it records the bundle JUDGING (accepted, not
    ranked) and queues the judging task, which judges and publishes."""
    from submissions import tasks

    use_judge(settings, judge_server)
    path = make_bundle(demo_version, alice_key)
    body = upload(alice, path).json()
    with django_capture_on_commit_callbacks(execute=True):
        services.process_submission(body["id"])
    submission = Submission.objects.get(pk=body["id"])
    assert submission.status == Submission.Status.JUDGING, submission.report
    assert judging_sent == [(body["id"],)]
    assert judge_server.requests == []  # not one judge call on the validation worker
    assert not submission.is_ranked
    assert body["id"] not in anonymous.client.get("/api/v1/leaderboard/?all=1").content.decode()
    first = submission.current_evaluation
    assert {r.status for r in _open_ended(submission)} == {"unscored"}
    # The same upload again is still a replay while it waits for the judge.
    assert upload(alice, path).status_code == 409
    assert tasks.judge_submission.name in settings.CELERY_TASK_ROUTES
    assert settings.CELERY_TASK_ROUTES[tasks.judge_submission.name] == {"queue": "scoring"}

    assert complete_judging(body["id"]).outcome == "created"
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SCORED and submission.is_ranked
    assert submission.current_evaluation_id != first.pk
    assert set(submission.evaluations.values_list("pk", flat=True)) >= {first.pk}
    assert {r.status for r in _open_ended(submission)} == {"correct", "incorrect"}
    assert len(judge_server.requests) == 20
    assert complete_judging(body["id"]).outcome == "skipped"  # a second run changes nothing
    assert body["id"] in anonymous.client.get("/api/v1/leaderboard/?all=1").content.decode()


def test_the_sweeper_requeues_lost_judging(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
    judging_sent: list[tuple[str, ...]],
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    use_judge(settings, judge_server)
    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    services.process_submission(body["id"])  # the on-commit enqueue never fires in this test
    services.sweep_stale_submissions()
    assert judging_sent == []  # not stale yet
    Submission.objects.filter(pk=body["id"]).update(started_at=timezone.now() - timedelta(hours=2))
    services.sweep_stale_submissions()
    assert judging_sent == [(body["id"],)]


def test_judging_without_a_judge_any_more_publishes_as_is(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
) -> None:
    use_judge(settings, judge_server)
    body = upload(alice, make_bundle(demo_version, alice_key)).json()
    services.process_submission(body["id"])
    settings.IPWBOARD_JUDGE_URL = ""  # the operator turned the judge off meanwhile
    assert complete_judging(body["id"]).outcome == "unchanged"
    submission = Submission.objects.get(pk=body["id"])
    assert submission.status == Submission.Status.SCORED
    assert {r.status for r in _open_ended(submission)} == {"unscored"}
    assert judge_server.requests == []


def test_same_responses_are_judged_once(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
) -> None:
    """The cache is keyed by (item, response hash, judge): a second bundle giving the same
    open-ended answers costs no judge call."""
    use_judge(settings, judge_server)
    first = scored(alice, make_bundle(demo_version, alice_key, seed=11))
    calls = len(judge_server.requests)
    assert calls == 20
    again = make_bundle(
        demo_version,
        alice_key,
        seed=11,  # same answers ...
        # ... measured on another machine: the same per-query energies and latencies under a new
        # run id would be a replay of the content (bundle.replay.content), not a new run.
        hardware="Demo Datacenter GPU",
        mutate_manifest=lambda m: m.update(run_id=str(uuid.uuid4())),
    )
    second = scored(alice, again)
    assert second.status == Submission.Status.SCORED, second.report
    assert len(judge_server.requests) == calls
    assert [(r.query_id, r.status) for r in _open_ended(first)] == [
        (r.query_id, r.status) for r in _open_ended(second)
    ]


def test_a_failing_judge_leaves_items_unscored_and_uncached(
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
) -> None:
    use_judge(settings, judge_server)
    judge_server.garbled = True
    submission = scored(alice, make_bundle(demo_version, alice_key))
    assert submission.status == Submission.Status.SCORED
    rows = _open_ended(submission)
    assert {r.status for r in rows} == {"unscored"}
    assert all("judge" in r.reason for r in rows)
    assert submission.current_evaluation.scorer_version.endswith("+partial")
    assert "unscored-items" in submission.labels
    assert not JudgeVerdict.objects.exists()  # failures are retried, never cached


def test_no_judge_tag_without_open_ended_items(
    alice: Persona,
    alice_key: Signer,
    make_bundle: Any,
    settings: Any,
    judge_server: LocalJudgeServer,
    tmp_path: Path,
) -> None:
    """The judge cannot change a closed-form dataset's numbers, so it is not part of the key."""
    from tests.conftest import DEMO_DATASET

    dataset = services.register_dataset_version(DEMO_DATASET)
    items = [i for i in services.engine_dataset(dataset).items if i.method != "llm_judge"]
    path = tmp_path / "closed.jsonl"
    write_dataset(path, DatasetMeta("demo-closed", "1", "CC0-1.0"), items)
    closed = services.register_dataset_version(path)
    use_judge(settings, judge_server)
    submission = scored(alice, make_bundle(closed, alice_key))
    assert submission.current_evaluation.scorer_version == SCORER_VERSION
    assert judge_server.requests == []
