"""Chart bins on Evaluation (issue 13), filled for evaluations scored before the worker made them.

The backfill reads each evaluation's stored per-query rows (energy, latency, status; streamed)
through the historical models and bins them with ``evaluator.bins``, the engine function the
worker uses, so old and new evaluations draw the same charts. Nothing is removed: the rows stay.
Reversing drops the field (the bins are derived data, recomputable from the rows).
"""

from __future__ import annotations

from django.db import migrations, models


def fill_bins(apps, schema_editor):
    from evaluator.bins import bins_from_rows

    Evaluation = apps.get_model("submissions", "Evaluation")
    QueryResult = apps.get_model("submissions", "QueryResult")
    for pk in list(Evaluation.objects.filter(bins={}).values_list("pk", flat=True)):
        rows = (
            QueryResult.objects.filter(evaluation_id=pk)
            .order_by("position")
            .values_list("energy_j", "latency_s", "status")
            .iterator(chunk_size=20_000)
        )
        Evaluation.objects.filter(pk=pk).update(bins=bins_from_rows(rows))


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0011_verified_email"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluation",
            name="bins",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(fill_bins, migrations.RunPython.noop),
    ]
