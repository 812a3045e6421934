"""Per-query results and dataset items as files (issue 13), through the real pipeline.

- the drill-down reads the per-query file and shows what the old row query showed (a 120-query
  run: every filter, every page, the prompts), and sorts by energy or latency;
- the per-query download is the stored file, byte for byte, with the documented columns;
- judging scores only the stored open-ended responses (no engine pass over the bundle) and
  recomputes the metrics from the per-query columns with the engine's formula;
- the database keeps no per-query row.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import RequestFactory

from evaluator import perquery
from evaluator.metrics import MetricInputs, compute_metrics
from ipwboard.board.exports_columns import QUERY_COLUMNS
from ipwboard.board.views.pair import QUERIES_PER_PAGE, drilldown
from submissions import services
from submissions.models import Submission
from submissions.services.rescore import complete_judging
from tests.conftest import Persona, Signer, upload
from tests.perquery import item_rows, query_rows
from tests.test_judge_server import LocalJudgeServer, use_judge

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(tmp_path: Any, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@pytest.fixture
def run(
    media: None, alice: Persona, alice_key: Signer, mixed_version: Any, make_bundle: Any
) -> Submission:
    """A 120-query run of the ipw-mixed dataset (choice, numeric and open-ended items)."""
    body = upload(alice, make_bundle(mixed_version, alice_key)).json()
    services.process_submission(body["id"])
    submission = Submission.objects.select_related("current_evaluation").get(pk=body["id"])
    assert submission.status == Submission.Status.SCORED, submission.report
    return submission


def _page(e: Any, **params: str) -> dict[str, Any]:
    return drilldown(RequestFactory().get("/", params), e)


def _expected(rows: list[Any], *, wrong: bool = False, status: str = "", domain: str = ""):
    """What the drill-down showed when it was a row query: filter, order by position."""
    kept = [
        r
        for r in rows
        if (not wrong or r.status == "incorrect")
        and (wrong or not status or r.status == status)
        and (not domain or r.domain == domain)
    ]
    return [r.position for r in kept]


def test_the_drilldown_reads_the_file_as_the_rows_were_read(run: Submission) -> None:
    e = run.current_evaluation
    rows = query_rows(e)
    assert len(rows) == e.n_queries == 120
    items = {i.position: i for i in item_rows(run.dataset_version)}
    domains = sorted({r.domain for r in rows})
    cases = [
        {},
        {"wrong": "1"},
        {"status": "unscored"},
        {"status": "correct"},
        {"domain": domains[0]},
        {"wrong": "1", "domain": domains[-1]},
        {"status": "correct", "domain": domains[1]},
        {"domain": "no-such-domain"},
    ]
    for params in cases:
        expected = _expected(
            rows,
            wrong=params.get("wrong") == "1",
            status=params.get("status", ""),
            domain=params.get("domain", ""),
        )
        pages = max(1, math.ceil(len(expected) / QUERIES_PER_PAGE))
        shown: list[int] = []
        for number in range(1, pages + 1):
            context = _page(e, **params, qpage=str(number))
            assert context["q_page"].paginator.count == len(expected), params
            for row, item in context["q_rows"]:
                shown.append(row["position"])
                # The prompt comes from the version's items file, by position.
                assert item is not None and item.prompt == items[row["position"]].prompt
                # (The page also reads the registry's drill-down cells the file has: tokens.)
                shown_row = {k: row[k] for k in perquery.PAGE_COLUMNS}
                assert shown_row == {
                    k: getattr(rows[row["position"]], k) for k in perquery.PAGE_COLUMNS
                }
        assert shown == expected, params


def test_the_drilldown_sorts_by_energy_and_latency(run: Submission, anonymous: Persona) -> None:
    e = run.current_evaluation
    rows = query_rows(e)
    for sort, column in (("energy", "energy_j"), ("latency", "latency_s")):
        for descending in (False, True):
            values = sorted(
                (getattr(r, column) for r in rows if getattr(r, column) is not None),
                reverse=descending,
            )
            shown = []
            for number in range(1, math.ceil(len(rows) / QUERIES_PER_PAGE) + 1):
                context = _page(e, sort=("-" if descending else "") + sort, qpage=str(number))
                shown += [row[column] for row, _ in context["q_rows"]]
            assert shown == values, (sort, descending)
    # Through the page: a bad sort is ignored, a good one is kept in the pager's links.
    ranked = Submission.objects.get(pk=run.pk)
    from ipwboard.board.pairs import PairKey

    url = PairKey.of(ranked).url()
    page = anonymous.client.get(url + "?sort=-energy").content.decode()
    assert "sort=-energy" in page and 'value="-energy" selected' in page
    assert anonymous.client.get(url + "?sort=drop+table").status_code == 200


def test_the_download_is_the_stored_file(run: Submission, anonymous: Persona) -> None:
    e = run.current_evaluation
    response = anonymous.client.get(f"/data/submissions/{run.pk}/queries.parquet")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    with default_storage.open(e.queries_file.name, "rb") as fh:
        assert body == fh.read()
    table = pq.read_table(io.BytesIO(body))
    # The documented columns first, in their order; the optional measurements after them.
    assert table.column_names[: len(QUERY_COLUMNS)] == [c.name for c in QUERY_COLUMNS]
    assert sorted(table.column("position").to_pylist()) == list(range(e.n_queries))
    assert set(table.column("submission_id").to_pylist()) == {str(run.pk)}
    for row in table.to_pylist():
        assert row["power_w"] == pytest.approx(row["energy_j"] / row["latency_s"])
    # Row groups are clustered by domain and status: a filter prunes them by statistics.
    meta = pq.ParquetFile(io.BytesIO(body)).metadata
    assert perquery.segments_of(meta)


def test_no_per_query_row_in_the_database(run: Submission) -> None:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "submissions_queryresult" not in tables
    assert "submissions_datasetitem" not in tables
    version = run.dataset_version
    assert version.items_file.name
    assert version.open_ended_items == sum(
        r.method == "llm_judge" for r in query_rows(run.current_evaluation)
    )


def test_judging_reads_the_stored_responses_not_the_bundle(
    media: None,
    alice: Persona,
    alice_key: Signer,
    demo_version: Any,
    make_bundle: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with LocalJudgeServer() as judge:
        use_judge(settings, judge)
        body = upload(alice, make_bundle(demo_version, alice_key)).json()
        services.process_submission(body["id"])
        submission = Submission.objects.get(pk=body["id"])
        assert submission.status == Submission.Status.JUDGING
        before = query_rows(submission.current_evaluation)

        def no_engine(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("judging must not run the engine over the bundle")

        monkeypatch.setattr("submissions.services.pipeline.evaluate", no_engine)
        monkeypatch.setattr(
            "submissions.services.rescore.local_copy",
            lambda name: (_ for _ in ()).throw(AssertionError(f"bundle read: {name}")),
        )
        pre_judge = submission.current_evaluation
        with django_capture_on_commit_callbacks(execute=True):
            assert complete_judging(submission.pk).outcome == "created"
        assert len(judge.requests) == 2 * 10  # the open-ended items only (asked both ways)
    submission.refresh_from_db()
    judged = submission.current_evaluation
    # No second full copy: the pre-judge evaluation keeps its figures, not its per-query file.
    old_file = pre_judge.queries_file.name
    pre_judge.refresh_from_db()
    assert old_file and pre_judge.queries_file.name == "" and not default_storage.exists(old_file)
    assert default_storage.exists(judged.queries_file.name)
    after = query_rows(judged)
    assert [r.method for r in after] == [r.method for r in before]
    for old, new in zip(before, after, strict=True):
        if old.method != "llm_judge":  # everything else is carried as it was
            assert vars(old) == vars(new)
        else:
            assert new.status in ("correct", "incorrect") and old.status == "unscored"
    # The metrics are the engine's formula over the per-query columns.
    expected = compute_metrics(
        MetricInputs(
            correct=[r.status == "correct" for r in after],
            scored=[r.status != "unscored" for r in after],
            energy_j=[r.energy_j for r in after],
            latency_s=[r.latency_s for r in after],
            ttft_s=[math.nan if r.ttft_s is None else r.ttft_s for r in after],
            output_tokens=[math.nan if r.output_tokens is None else r.output_tokens for r in after],
            domains=[r.domain for r in after],
        ),
        seed=settings.IPWBOARD_BOOTSTRAP_SEED,
    )
    assert judged.n_scored == judged.n_queries == expected.n_scored
    assert judged.accuracy == pytest.approx(expected.accuracy)
    assert (judged.ipw_low, judged.ipw_high) == pytest.approx(
        (expected.ipw_ci.low, expected.ipw_ci.high)
    )
    assert judged.per_domain == {k: vars(v) for k, v in expected.per_domain.items()}
    assert "unscored-items" not in judged.labels and "unscored-items" not in submission.labels
    assert judged.bins["n"] == judged.n_queries
