"""Migrations 0012 and 0014 on rows written with the old schema: bins filled from the stored rows,
then every ``QueryResult`` and ``DatasetItem`` moved into Parquet files, and the tables dropped.

Runs Django's MigrationExecutor back to 0011 (when per-query results and dataset items were rows),
inserts rows through the historical models, migrates forward and compares the files' content with
the rows, column by column: nothing lost.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from evaluator.bins import bins_from_rows
from evaluator.perquery import dataset_order

BEFORE_BINS = ("submissions", "0011_verified_email")
WITH_BINS = ("submissions", "0012_evaluation_bins")
WITH_EXTRAS = ("submissions", "0013_harness_measurement_class")
FILES = ("submissions", "0014_perquery_files")
STATUSES = ("correct", "incorrect", "unscored")


@pytest.fixture
def media(tmp_path: Any, settings: Any) -> Iterator[None]:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    yield


def _migrate(target: tuple[str, str] | list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    targets = target if isinstance(target, list) else [target]
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _leaves() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _evaluation_defaults(model: Any) -> dict[str, Any]:
    """Every required number of an Evaluation, as a plausible figure."""
    out: dict[str, Any] = {}
    for field in model._meta.get_fields():
        kind = getattr(field, "get_internal_type", lambda: "")()
        if field.concrete and not field.null and not field.has_default():
            if kind == "FloatField":
                out[field.name] = 0.5
            elif kind in ("PositiveIntegerField", "IntegerField"):
                out[field.name] = 12
    return out


def _old_rows(apps: Any) -> dict[str, Any]:
    User = apps.get_model("auth", "User")
    Submission = apps.get_model("submissions", "Submission")
    Evaluation = apps.get_model("submissions", "Evaluation")
    QueryResult = apps.get_model("submissions", "QueryResult")
    BenchmarkDataset = apps.get_model("submissions", "BenchmarkDataset")
    DatasetVersion = apps.get_model("submissions", "DatasetVersion")
    DatasetItem = apps.get_model("submissions", "DatasetItem")

    owner = User.objects.create(username=f"old-{uuid.uuid4().hex[:6]}")
    bench = BenchmarkDataset.objects.create(slug="old-ds", name="old")
    versions = {}
    for name, private in (("1", False), ("2", True)):
        version = DatasetVersion.objects.create(
            dataset=bench,
            version=name,
            sha256=(name * 64)[:64],
            item_count=12,
            file=f"datasets/old-{name}.jsonl",
            references_private=private,
        )
        DatasetItem.objects.bulk_create(
            DatasetItem(
                version=version,
                item_id=f"q{i:02d}",
                prompt=f"=prompt {i} ünïcode\nline two",
                reference="" if private else f"ref {i}",
                domain=("math", "chat", "law")[i % 3],
                method="llm_judge" if i % 4 == 0 else "exact_match",
                position=i,
            )
            for i in range(12)
        )
        versions[name] = version
    submission = Submission.objects.create(
        owner=owner,
        bundle="bundles/old.ipwb",
        bundle_sha256="a" * 64,
        bundle_size=1,
        status="scored",
        synthetic=True,
        dataset_version=versions["1"],
    )
    evaluations = []
    for version_tag in ("2026.1", "2026.2"):
        evaluation = Evaluation.objects.create(
            submission=submission, scorer_version=version_tag, **_evaluation_defaults(Evaluation)
        )
        QueryResult.objects.bulk_create(
            QueryResult(
                evaluation=evaluation,
                position=i,
                query_id=f"q{i:02d}",
                domain=("math", "chat", "law")[i % 3],
                method="llm_judge" if i % 4 == 0 else "exact_match",
                status=STATUSES[(i + len(version_tag)) % 3],
                extracted="" if i % 5 == 0 else f"x{i}",
                reason=f"because {i}",
                response=f"+answer {i} ✓",
                energy_j=None if i == 7 else 1.5 * (i + 1),
                latency_s=0.25 * (i + 1),
                ttft_s=None if i % 2 else 0.01 * i,
                output_tokens=None if i == 3 else 10 * i,
            )
            for i in range(12)
        )
        evaluations.append(evaluation.pk)
    return {"submission": submission.pk, "evaluations": evaluations, "versions": versions}


RESULT_FIELDS = (
    "position",
    "query_id",
    "domain",
    "method",
    "status",
    "extracted",
    "reason",
    "response",
    "energy_j",
    "latency_s",
    "ttft_s",
    "output_tokens",
    "input_tokens",
    "reasoning_tokens",
    "prefill_energy_j",
    "decode_energy_j",
    "cpu_energy_j",
    "gpu_utilization_pct",
    "turns",
    "tool_calls",
    "tool_s",
)


@pytest.mark.django_db(transaction=True)
def test_rows_move_into_files_and_nothing_is_lost(media: None) -> None:
    leaves = _leaves()
    try:
        apps = _migrate(BEFORE_BINS)
        made = _old_rows(apps)

        # 0012: bins from the stored rows, as the worker bins them.
        apps = _migrate(WITH_BINS)
        QueryResult = apps.get_model("submissions", "QueryResult")
        Evaluation = apps.get_model("submissions", "Evaluation")
        for pk in made["evaluations"]:
            rows = QueryResult.objects.filter(evaluation_id=pk).order_by("position")
            expected = bins_from_rows(rows.values_list("energy_j", "latency_s", "status"))
            assert Evaluation.objects.get(pk=pk).bins == expected

        # 0013 added the optional per-query columns: fill some, so they are carried too.
        apps = _migrate(WITH_EXTRAS)
        QueryResult = apps.get_model("submissions", "QueryResult")
        for row in QueryResult.objects.all():
            row.input_tokens = 40 + row.position
            row.reasoning_tokens = None if row.position % 2 else row.position
            row.prefill_energy_j = 0.1 * row.position
            row.decode_energy_j = 0.2 * row.position
            row.cpu_energy_j = 0.05
            row.gpu_utilization_pct = 55.5
            row.turns, row.tool_calls, row.tool_s = 2, row.position % 3, 0.5
            row.save()
        old = {
            pk: list(
                QueryResult.objects.filter(evaluation_id=pk)
                .order_by("position")
                .values_list(*RESULT_FIELDS)
            )
            for pk in made["evaluations"]
        }
        DatasetItem = apps.get_model("submissions", "DatasetItem")
        old_items = {
            name: list(
                DatasetItem.objects.filter(version_id=version.pk)
                .order_by("position")
                .values_list("item_id", "position", "domain", "method", "prompt", "reference")
            )
            for name, version in made["versions"].items()
        }

        apps = _migrate(FILES)
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        assert "submissions_queryresult" not in tables
        assert "submissions_datasetitem" not in tables

        Evaluation = apps.get_model("submissions", "Evaluation")
        for pk, rows in old.items():
            evaluation = Evaluation.objects.get(pk=pk)
            assert evaluation.queries_file.name.startswith(f"perquery/{made['submission']}/")
            with default_storage.open(evaluation.queries_file.name, "rb") as fh:
                table = dataset_order(pq.read_table(fh))
            got = [tuple(row[name] for name in RESULT_FIELDS) for row in table.to_pylist()]
            assert got == rows  # every column of every row
            assert set(table.column("submission_id").to_pylist()) == {str(made["submission"])}
            assert set(table.column("synthetic").to_pylist()) == {True}
            power = table.column("power_w").to_pylist()
            for row, watts in zip(rows, power, strict=True):
                energy, latency = row[RESULT_FIELDS.index("energy_j")], row[9]
                assert (watts is None) == (energy is None)
                assert watts is None or math.isclose(watts, energy / latency)

        DatasetVersion = apps.get_model("submissions", "DatasetVersion")
        for name, rows in old_items.items():
            version = DatasetVersion.objects.get(pk=made["versions"][name].pk)
            assert version.open_ended_items == 3
            with default_storage.open(version.items_file.name, "rb") as fh:
                table = pq.read_table(fh)
            got = [
                (r["id"], r["position"], r["domain"], r["method"], r["prompt"], r["reference"])
                for r in table.to_pylist()
            ]
            if version.references_private:  # never a reference in a private version's file
                assert [r[-1] for r in got] == [None] * 12
                got = [(*r[:-1], "") for r in got]
            assert got == rows

        # And back: the tables return, filled from the files.
        apps = _migrate(WITH_EXTRAS)
        QueryResult = apps.get_model("submissions", "QueryResult")
        for pk, rows in old.items():
            back = list(
                QueryResult.objects.filter(evaluation_id=pk)
                .order_by("position")
                .values_list(*RESULT_FIELDS)
            )
            assert back == rows
    finally:
        _migrate(leaves)
