"""BoardEntry pairs and ranks by the submission's ranking class, not its bare scope (issue 14)."""

from django.db import migrations, models


def copy_classes(apps, schema_editor):
    BoardEntry = apps.get_model("board", "BoardEntry")
    for entry in BoardEntry.objects.select_related("submission").only(
        "pk", "submission__ranking_class", "submission__measurement_scope"
    ):
        klass = entry.submission.ranking_class or entry.submission.measurement_scope
        BoardEntry.objects.filter(pk=entry.pk).update(ranking_class=klass)


class Migration(migrations.Migration):
    dependencies = [
        ("board", "0001_board_entry"),
        ("submissions", "0015_submission_ranking_class"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="boardentry", name="board_entry_pair"),
        migrations.RemoveIndex(model_name="boardentry", name="board_entry_best"),
        migrations.RenameField(
            model_name="boardentry", old_name="measurement_scope", new_name="ranking_class"
        ),
        migrations.AlterField(
            model_name="boardentry",
            name="ranking_class",
            field=models.CharField(max_length=80),
        ),
        migrations.AddIndex(
            model_name="boardentry",
            index=models.Index(
                fields=["model", "hardware", "dataset_version", "ranking_class"],
                name="board_entry_pair",
            ),
        ),
        migrations.AddIndex(
            model_name="boardentry",
            index=models.Index(
                fields=["best", "dataset_version", "ranking_class"], name="board_entry_best"
            ),
        ),
        migrations.RunPython(copy_classes, migrations.RunPython.noop),
    ]
