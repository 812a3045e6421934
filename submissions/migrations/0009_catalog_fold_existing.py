"""Existing hardware and model rows through the catalog's aliases (issue 11).

Rows named by an alias ("H10080GB", "NVIDIA H100 80GB HBM3", "llama3.2:1b") are folded into the
catalog entry's row (their submissions move to it); measured submissions whose names stay unmapped
are held in the catalog review queue (``catalog_pending``). Synthetic (demo) rows are left alone.
Uses the historical models for every write; the catalog's field values come from the same plain
functions the service uses (``catalog_sync.hardware_fields`` / ``model_fields``).
"""

from __future__ import annotations

from django.db import migrations
from django.utils.text import slugify


def _slug(cls, key):
    base = slugify(key)[:180] or "item"
    n, slug = 1, base
    while cls.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _target(cls, name_field, key, name, fields):
    """The entry's row: by key, else a row already under the canonical name, else a new one."""
    row = cls.objects.filter(catalog_key=key).first()
    row = row or cls.objects.filter(**{name_field: name}).first()
    if row is None:
        row = cls(slug=_slug(cls, key))
    row.catalog_key = key
    setattr(row, name_field, name)
    for field, value in fields.items():
        setattr(row, field, value)
    row.save()
    return row


def fold(apps, schema_editor):
    from evaluator.catalog import CatalogError, load_catalog
    from submissions.services.catalog_sync import hardware_fields, model_fields

    try:
        catalog = load_catalog()
    except CatalogError:  # an installed copy without its data: nothing to fold against
        return
    Hardware = apps.get_model("submissions", "Hardware")
    AIModel = apps.get_model("submissions", "AIModel")
    Submission = apps.get_model("submissions", "Submission")
    for row in list(Hardware.objects.filter(catalog_key="")):
        entry = catalog.resolve_hardware(row.accelerator, row.label).entry
        if entry is None:
            continue
        fields = {k: v for k, v in hardware_fields(entry).items() if k != "label"}
        target = _target(Hardware, "label", entry.key, entry.name, fields)
        if target.pk != row.pk:
            Submission.objects.filter(hardware=row).update(hardware=target)
            row.delete()
    for row in list(AIModel.objects.filter(catalog_key="")):
        entry = catalog.resolve_model(row.name).entry
        if entry is None:
            continue
        fields = {k: v for k, v in model_fields(entry).items() if k != "name"}
        target = _target(AIModel, "name", entry.key, entry.name, fields)
        if target.pk != row.pk:
            Submission.objects.filter(model=row).update(model=target)
            row.delete()
    # Measured runs still named by free text wait for staff.
    measured = Submission.objects.filter(synthetic=False, status="scored")
    measured.filter(hardware__catalog_key="").update(catalog_pending=True)
    measured.filter(model__catalog_key="").update(catalog_pending=True)


class Migration(migrations.Migration):
    dependencies = [("submissions", "0008_submission_replaces")]
    operations = [migrations.RunPython(fold, migrations.RunPython.noop)]
