"""The evaluation's per-query means (``evaluator.metrics.MEAN_COLUMNS``), through the server.

- first scoring records them from a bundle with optional per-query columns, and judging (which
  recomputes the metrics from the per-query file) records the same ones;
- migration 0017 fills them for evaluations recorded before, from their per-query files, with the
  engine's function, and skips a missing or unreadable file without failing.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from evaluator import perquery
from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.bundle.tables import OPTIONAL_QUERY_NAMES
from evaluator.metrics import MEAN_COLUMNS, MetricInputs, query_means
from evaluator.types import ItemResult
from submissions import demo, services
from submissions.models import Evaluation, Submission
from submissions.services.rescore import complete_judging
from tests.conftest import Persona, Signer, upload
from tests.test_judge_server import LocalJudgeServer, use_judge
from tests.test_perquery_migration import _evaluation_defaults, _leaves, _migrate


@pytest.fixture
def media(tmp_path: Any, settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


def _means(evaluation: Evaluation) -> dict[str, float | None]:
    return {name: getattr(evaluation, name) for name in MEAN_COLUMNS}


def _bundle(
    tmp_path: Path, version: Any, signer: Signer, *, optional: bool
) -> tuple[Path, dict[str, float | None]]:
    """A demo run without optional per-query columns, or (``optional``) with reasoning tokens
    (every query), prefill energy (all but one query) and a CPU column nobody filled; and the
    means it must get, computed here by hand."""
    manifest, queries, trace = demo.synth_run(
        services.engine_dataset(version),
        demo.find_model("demo/heron-8b"),
        demo.find_hardware("Demo Workstation GPU"),
        run_date="2025-06-01",
        seed=4242,
    )
    queries = queries.drop_columns(
        [name for name in OPTIONAL_QUERY_NAMES if name in queries.column_names]
    )
    n = queries.num_rows
    output = queries.column("output_tokens").to_pylist()
    energy = queries.column("energy_j").to_pylist()
    reasoning = [t // 2 for t in output]
    prefill = [None if i == 0 else e * 0.25 for i, e in enumerate(energy)]
    expected: dict[str, float | None] = dict.fromkeys(MEAN_COLUMNS)
    expected.update(
        mean_input_tokens=float(np.mean(queries.column("input_tokens").to_pylist())),
        mean_output_tokens=float(np.mean(output)),
    )
    if optional:
        queries = (
            queries.append_column("reasoning_tokens", pa.array(reasoning, pa.int64()))
            .append_column("prefill_energy_j", pa.array(prefill, pa.float64()))
            .append_column("cpu_energy_j", pa.nulls(n, pa.float64()))
        )
        expected.update(
            mean_reasoning_tokens=float(np.mean(reasoning)),
            mean_prefill_energy_j=float(np.mean(prefill[1:])),
        )
    path = tmp_path / f"optional-{optional}.ipwb"
    pack_bundle(path, manifest, queries, trace)
    sign_bundle(path, signer.key)
    return path, expected


def test_every_mean_is_an_evaluation_field_and_every_such_field_a_mean() -> None:
    fields = {f.name for f in Evaluation._meta.get_fields() if f.name.startswith("mean_")}
    assert fields - {"mean_power_w", "mean_energy_j"} == set(MEAN_COLUMNS)


@pytest.mark.django_db
def test_means_are_recorded_at_scoring_and_survive_judging(
    media: None, alice: Persona, alice_key: Signer, demo_version: Any, settings: Any, tmp_path: Path
) -> None:
    path, expected = _bundle(tmp_path, demo_version, alice_key, optional=True)
    with LocalJudgeServer() as judge:
        use_judge(settings, judge)
        body = upload(alice, path).json()
        services.process_submission(body["id"])
        submission = Submission.objects.get(pk=body["id"])
        assert submission.status == Submission.Status.JUDGING, submission.report
        first = submission.current_evaluation
        assert first is not None
        assert _means(first) == pytest.approx(expected)
        assert first.mean_cpu_energy_j is None and first.mean_turns is None  # not measured
        assert complete_judging(submission.pk).outcome == "created"
    submission.refresh_from_db()
    judged = submission.current_evaluation
    assert judged is not None and judged.pk != first.pk and judged.n_scored > first.n_scored
    assert _means(judged) == pytest.approx(expected)


@pytest.mark.django_db
def test_a_run_without_optional_columns_has_only_token_means(
    media: None, alice: Persona, alice_key: Signer, demo_version: Any, tmp_path: Path
) -> None:
    path, expected = _bundle(tmp_path, demo_version, alice_key, optional=False)
    body = upload(alice, path).json()
    services.process_submission(body["id"])
    evaluation = Submission.objects.get(pk=body["id"]).current_evaluation
    assert evaluation is not None
    assert _means(evaluation) == pytest.approx(expected)
    assert [k for k, v in _means(evaluation).items() if v is not None] == [
        "mean_input_tokens",
        "mean_output_tokens",
    ]


# -- migration 0017 --------------------------------------------------------------------------------

BEFORE = ("submissions", "0016_evaluation_means")
BACKFILL = ("submissions", "0017_evaluation_means_backfill")


def _results() -> list[ItemResult]:
    return [
        ItemResult(
            f"q{i}",
            "math",
            "exact_match",
            "correct" if i % 2 else "incorrect",
            None,
            "",
            energy_j=10.0 + i,
            latency_s=1.0 + i,
            ttft_s=0.1,
            output_tokens=20 + i,
            input_tokens=40 + i,
            reasoning_tokens=None if i == 3 else i,  # one query without: no reasoning mean
            decode_s=None if i < 2 else 0.5 * i,
            turns=i + 1,
        )
        for i in range(6)
    ]


def _stored_file(results: list[ItemResult], submission_id: str) -> str:
    sink = io.BytesIO()
    perquery.write_results(results, sink, submission_id=submission_id, synthetic=True)
    return default_storage.save(
        f"perquery/{submission_id}/old.parquet", ContentFile(sink.getvalue())
    )


@pytest.mark.django_db(transaction=True)
def test_backfill_reads_each_per_query_file_and_skips_what_it_cannot_read(media: None) -> None:
    leaves = _leaves()
    try:
        apps = _migrate(BEFORE)
        User = apps.get_model("auth", "User")
        Submission_ = apps.get_model("submissions", "Submission")
        Evaluation_ = apps.get_model("submissions", "Evaluation")
        owner = User.objects.create(username=f"means-{uuid.uuid4().hex[:6]}")
        submission = Submission_.objects.create(
            owner=owner,
            bundle="bundles/old.ipwb",
            bundle_sha256="b" * 64,
            bundle_size=1,
            status="scored",
            synthetic=True,
        )
        results = _results()
        garbage = default_storage.save("perquery/x/garbage.parquet", ContentFile(b"not parquet"))
        names = {
            "good": _stored_file(results, str(submission.pk)),
            "missing": "perquery/x/gone.parquet",
            "garbage": garbage,
            "none": "",
        }
        made = {
            key: Evaluation_.objects.create(
                submission=submission,
                scorer_version=key,
                queries_file=name,
                **_evaluation_defaults(Evaluation_),
            ).pk
            for key, name in names.items()
        }

        apps = _migrate(BACKFILL)  # must not raise for the missing and unreadable files
        Evaluation_ = apps.get_model("submissions", "Evaluation")
        rows = {key: Evaluation_.objects.get(pk=pk) for key, pk in made.items()}
        expected = query_means(MetricInputs.from_items(results))
        assert {name: getattr(rows["good"], name) for name in MEAN_COLUMNS} == pytest.approx(
            expected
        )
        assert rows["good"].mean_input_tokens == pytest.approx(42.5)
        assert rows["good"].mean_decode_s == pytest.approx(np.mean([1.0, 1.5, 2.0, 2.5]))
        assert rows["good"].mean_reasoning_tokens is None and rows["good"].mean_turns == 3.5
        for key in ("missing", "garbage", "none"):
            assert all(getattr(rows[key], name) is None for name in MEAN_COLUMNS), key
    finally:
        _migrate(leaves)
