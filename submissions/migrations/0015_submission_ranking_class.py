"""Submission.ranking_class: what rankings never mix, as one slug (issue 14)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    from evaluator.measurement_classes import ranking_class

    Submission = apps.get_model("submissions", "Submission")
    for row in Submission.objects.exclude(measurement_scope="").only(
        "pk", "measurement_scope", "energy_attribution", "energy_basis", "workload_kind"
    ):
        Submission.objects.filter(pk=row.pk).update(
            ranking_class=ranking_class(
                row.measurement_scope, row.energy_attribution, row.energy_basis, row.workload_kind
            )
        )


class Migration(migrations.Migration):
    dependencies = [("submissions", "0014_perquery_files")]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="ranking_class",
            field=models.CharField(blank=True, db_index=True, max_length=80),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
