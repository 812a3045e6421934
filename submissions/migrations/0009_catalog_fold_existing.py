"""Existing hardware and model rows through the catalog's aliases (issue 11).

Rows named by an alias ("H10080GB", "NVIDIA H100 80GB HBM3", "llama3.2:1b") are folded into the
catalog entry's row (their submissions move to it); measured submissions whose names stay unmapped
are held in the catalog review queue (``catalog_pending``). Synthetic (demo) rows are left alone.
Uses the historical models only, so it keeps working as the models change.
"""

from __future__ import annotations

from datetime import date

from django.db import migrations
from django.utils.text import slugify


def _date(value):
    if not value:
        return None
    return date.fromisoformat(value if len(value) == 10 else f"{value}-01")


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
        fields = {
            "accelerator": entry.name,
            "vendor": entry.vendor,
            "family": entry.family,
            "kind": entry.kind,
            "form_factor": entry.form_factor,
            "device_class": entry.device_class,
            "hw_class": "cloud" if entry.device_class == "datacenter" else "local",
            "memory_gb": entry.memory_gb,
            "memory_bandwidth_gbs": entry.memory_bandwidth_gbs,
            "tdp_w": entry.tdp_w,
            "idle_power_low_w": entry.idle_low_w,
            "idle_power_high_w": entry.idle_high_w,
            "methods": list(entry.methods),
            "release_date": _date(entry.release_date),
            "sources": dict(entry.sources),
        }
        target = _target(Hardware, "label", entry.key, entry.name, fields)
        if target.pk != row.pk:
            Submission.objects.filter(hardware=row).update(hardware=target)
            row.delete()
    for row in list(AIModel.objects.filter(catalog_key="")):
        entry = catalog.resolve_model(row.name).entry
        if entry is None:
            continue
        fields = {
            "organisation": entry.organisation,
            "family": entry.family,
            "params_total_b": entry.params_total_b,
            "params_active_b": entry.params_active_b,
            "architecture": entry.architecture,
            "release_date": _date(entry.release_date),
            "licence": entry.licence or "",
            "context_length": entry.context_length,
            "reasoning": entry.reasoning,
            "sources": dict(entry.sources),
        }
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
