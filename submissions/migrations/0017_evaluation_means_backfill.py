"""Fill the per-query means that 0016 added (``Evaluation.mean_*``) for evaluations recorded before.

Each evaluation's per-query file (``Evaluation.queries_file``, read through the storage backend)
goes through the engine's one function (``evaluator.rejudge.means_of``, which is
``evaluator.metrics.query_means``), so a backfilled evaluation holds what the worker would record
today. Best effort by design: an evaluation without a file, whose file is missing or unreadable,
keeps null means (its pages show "not measured") and is logged; the migration never fails for it.
Reversing leaves the columns as they are (0016's reversal drops them).
"""

from __future__ import annotations

import logging

from django.db import migrations

log = logging.getLogger(__name__)


def _means(name: str) -> dict[str, float | None] | None:
    import pyarrow.parquet as pq
    from django.core.files.storage import default_storage

    from evaluator.rejudge import MEAN_INPUT_COLUMNS, means_of

    if not default_storage.exists(name):
        log.warning("per-query file %s is missing: means left null", name)
        return None
    with default_storage.open(name, "rb") as fh:
        handle = pq.ParquetFile(fh)
        present = set(handle.schema_arrow.names)
        table = handle.read(columns=[c for c in MEAN_INPUT_COLUMNS if c in present])
    return means_of(table)


def backfill(apps, schema_editor) -> None:
    Evaluation = apps.get_model("submissions", "Evaluation")
    rows = Evaluation.objects.exclude(queries_file="").values_list("pk", "queries_file")
    for pk, name in rows.iterator(chunk_size=500):
        try:
            means = _means(name)
        except Exception:  # an unreadable file must not stop the deployment
            log.warning("per-query file %s unreadable: means left null", name, exc_info=True)
            continue
        if means is not None:
            Evaluation.objects.filter(pk=pk).update(**means)


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0016_evaluation_means"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
