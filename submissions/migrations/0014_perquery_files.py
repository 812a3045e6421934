"""Per-query results and dataset items become Parquet files in the storage backend (issue 13).

Every evaluation's ``QueryResult`` rows are written, through the historical models and the storage
backend, to one per-query file (``evaluator.perquery``: the layout the worker writes) named by
``Evaluation.queries_file``; every dataset version's ``DatasetItem`` rows to its items file
(``evaluator.itemfile``) named by ``DatasetVersion.items_file``, with ``open_ended_items`` counted.
Then both tables are dropped. Nothing is lost: every column of both tables is in the files (a test
migrates rows forward and compares). Reversing recreates the tables and fills them from the files.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import migrations, models

_RESULT_FIELDS = (
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
    "prefill_s",
    "decode_s",
    "cpu_energy_j",
    "ane_energy_j",
    "gpu_utilization_pct",
    "mfu",
    "mbu",
    "turns",
    "tool_calls",
    "tool_s",
)
_ITEM_FIELDS = ("item_id", "position", "domain", "method", "prompt", "reference")
_CHUNK = 20_000


def _store(write, name: str) -> str:
    from submissions.storage import save_stream, work_dir

    with TemporaryDirectory(prefix="ipwboard-migrate-", dir=work_dir()) as tmp:
        path = Path(tmp) / "file.parquet"
        write(str(path))
        with path.open("rb") as fh:
            return save_stream(name, fh)


def _results_table(rows, submission_id: str, synthetic: bool) -> pa.Table:
    from evaluator.perquery import SCHEMA

    columns: dict[str, list] = {name: [] for name in _RESULT_FIELDS}
    for values in rows:
        for name, value in zip(_RESULT_FIELDS, values, strict=True):
            columns[name].append(value)
    n = len(columns["position"])
    energy = np.array([np.nan if v is None else v for v in columns["energy_j"]], dtype=float)
    latency = np.array(columns["latency_s"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        power = np.where(np.isfinite(energy) & (latency > 0), energy / latency, np.nan)
    data = {
        **{name: pa.array(values, SCHEMA.field(name).type) for name, values in columns.items()},
        "submission_id": pa.array([submission_id] * n, pa.string()),
        "synthetic": pa.array([synthetic] * n, pa.bool_()),
        "power_w": pa.array(power, mask=np.isnan(power)),
    }
    return pa.table({name: data[name] for name in SCHEMA.names}, schema=SCHEMA)


def rows_to_files(apps, schema_editor):
    from evaluator import itemfile, perquery

    Evaluation = apps.get_model("submissions", "Evaluation")
    QueryResult = apps.get_model("submissions", "QueryResult")
    DatasetVersion = apps.get_model("submissions", "DatasetVersion")
    DatasetItem = apps.get_model("submissions", "DatasetItem")

    for evaluation in Evaluation.objects.filter(queries_file="").select_related("submission"):
        rows = (
            QueryResult.objects.filter(evaluation_id=evaluation.pk)
            .order_by("position")
            .values_list(*_RESULT_FIELDS)
            .iterator(chunk_size=_CHUNK)
        )
        submission = evaluation.submission
        table = _results_table(rows, str(submission.pk), submission.synthetic)
        name = f"perquery/{submission.pk}/{uuid.uuid4().hex}.parquet"
        evaluation.queries_file = _store(lambda path, t=table: perquery.write_table(t, path), name)
        evaluation.save(update_fields=["queries_file"])

    for version in DatasetVersion.objects.filter(items_file="").select_related("dataset"):
        rows = list(
            DatasetItem.objects.filter(version_id=version.pk)
            .order_by("position")
            .values_list(*_ITEM_FIELDS)
            .iterator(chunk_size=_CHUNK)
        )
        columns = [list(column) for column in zip(*rows, strict=True)] or [[]] * 6
        ids, positions, domains, methods, prompts, references = columns
        if version.references_private:
            references = [None] * len(rows)
        table = pa.table(
            {
                "id": ids,
                "position": pa.array(positions, pa.int32()),
                "domain": domains,
                "method": methods,
                "prompt": prompts,
                "reference": pa.array(references, pa.string()),
            },
            schema=itemfile.SCHEMA,
        )
        name = (
            f"dataset-items/{version.dataset.slug}/{version.version}-{version.sha256[:12]}.parquet"
        )
        version.items_file = _store(lambda path, t=table: itemfile.write_table(t, path), name)
        version.open_ended_items = sum(1 for method in methods if method == "llm_judge")
        version.save(update_fields=["items_file", "open_ended_items"])


def files_to_rows(apps, schema_editor):
    from django.core.files.storage import default_storage

    from evaluator.perquery import dataset_order

    Evaluation = apps.get_model("submissions", "Evaluation")
    QueryResult = apps.get_model("submissions", "QueryResult")
    DatasetVersion = apps.get_model("submissions", "DatasetVersion")
    DatasetItem = apps.get_model("submissions", "DatasetItem")
    for evaluation in Evaluation.objects.exclude(queries_file=""):
        with default_storage.open(evaluation.queries_file.name, "rb") as fh:
            table = dataset_order(pq.read_table(fh, columns=list(_RESULT_FIELDS)))
        QueryResult.objects.bulk_create(
            (
                QueryResult(
                    evaluation_id=evaluation.pk,
                    **{
                        k: ("" if v is None and k in ("extracted", "reason", "response") else v)
                        for k, v in row.items()
                    },
                )
                for row in table.to_pylist()
            ),
            batch_size=2000,
        )
    for version in DatasetVersion.objects.exclude(items_file=""):
        with default_storage.open(version.items_file.name, "rb") as fh:
            table = pq.read_table(fh)
        DatasetItem.objects.bulk_create(
            (
                DatasetItem(
                    version_id=version.pk,
                    item_id=row["id"],
                    prompt=row["prompt"],
                    reference=row["reference"] or "",
                    domain=row["domain"],
                    method=row["method"],
                    position=row["position"],
                )
                for row in table.to_pylist()
            ),
            batch_size=2000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0013_harness_measurement_class"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluation",
            name="queries_file",
            field=models.FileField(blank=True, max_length=300, upload_to="perquery/"),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="items_file",
            field=models.FileField(blank=True, max_length=300, upload_to="dataset-items/"),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="open_ended_items",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(rows_to_files, files_to_rows),
        migrations.DeleteModel(name="QueryResult"),
        migrations.DeleteModel(name="DatasetItem"),
    ]
