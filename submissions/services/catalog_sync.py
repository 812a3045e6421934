"""The catalog on the server: rows mirrored from ``data/catalog``, resolution at ingest, and the
catalog review queue (names nobody has mapped yet).

The engine resolves names (``evaluator.catalog``); this module turns its answer into rows:

- ``sync_catalog()`` upserts one ``Hardware`` / ``AIModel`` row per catalog entry (by
  ``catalog_key``), so pages, filters and exports group by the canonical entry. Run after every
  migrate and by ``manage.py catalog sync``.
- ``server_catalog()`` is the shipped catalog extended with what staff mapped (``CatalogAlias``)
  or added (rows with a ``catalog_key`` the files do not have); the worker evaluates with it.
- ``hardware_row`` / ``model_row`` give the row for a recorded result: the catalog entry's, a
  synthetic run's fictional row, or a pending row (``catalog_key`` empty) for an unknown name.

The staff side of the review queue (mapping a name, re-checking what waited on it) is
``catalog_review``.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

from django.db import transaction
from django.utils.text import slugify

from evaluator.catalog import (
    Accelerator,
    Catalog,
    ModelEntry,
    load_catalog,
)
from evaluator.manifest_model import Manifest
from evaluator.types import CatalogResolution

from ..models import AIModel, CatalogAlias, Hardware, Submission

log = logging.getLogger(__name__)


def _date(value: str | None) -> date | None:
    if not value:
        return None
    return date.fromisoformat(value if len(value) == 10 else f"{value}-01")


def hardware_fields(entry: Accelerator) -> dict[str, object]:
    """A Hardware row's catalog fields (plain values: the data migration uses them too)."""
    return {
        "label": entry.name,
        "accelerator": entry.name,
        "vendor": entry.vendor,
        "family": entry.family,
        "kind": entry.kind,
        "form_factor": entry.form_factor,
        "device_class": entry.device_class,
        "hw_class": "local" if entry.local else "cloud",  # Hardware.HardwareClass values
        "memory_gb": entry.memory_gb,
        "memory_bandwidth_gbs": entry.memory_bandwidth_gbs,
        "tdp_w": entry.tdp_w,
        "idle_power_low_w": entry.idle_low_w,
        "idle_power_high_w": entry.idle_high_w,
        "methods": list(entry.methods),
        "release_date": _date(entry.release_date),
        "sources": dict(entry.sources),
    }


def model_fields(entry: ModelEntry) -> dict[str, object]:
    """An AIModel row's catalog fields (plain values: the data migration uses them too)."""
    return {
        "name": entry.name,
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


@transaction.atomic
def sync_catalog(catalog: Catalog | None = None) -> tuple[int, int]:
    """Upsert a row per catalog entry and fold rows that name an entry by one of its aliases into
    it. Returns (hardware rows, model rows) synced."""
    catalog = catalog or load_catalog()
    for entry in catalog.accelerators.values():
        _upsert(Hardware, entry.key, hardware_fields(entry), "label")
    for model in catalog.models.values():
        _upsert(AIModel, model.key, model_fields(model), "name")
    fold_aliased_rows(catalog)
    return len(catalog.accelerators), len(catalog.models)


def _upsert(
    cls: type[Hardware] | type[AIModel], key: str, fields: dict[str, object], name_field: str
) -> None:
    row = cls.objects.filter(catalog_key=key).first()
    if row is None:
        # A row created before the catalog under the canonical name becomes the entry's row.
        row = cls.objects.filter(**{name_field: fields[name_field]}).first()
    if row is None:
        cls.objects.create(catalog_key=key, slug=_unique_slug(cls, key), **fields)  # type: ignore[misc]
        return
    clash = cls.objects.filter(**{name_field: fields[name_field]}).exclude(pk=row.pk).first()
    if clash is not None:  # an old free-text row took the canonical name: fold it in first
        _fold(cls, clash, row)
    for name, value in fields.items():
        setattr(row, name, value)
    row.catalog_key = key
    row.save()


def fold_aliased_rows(catalog: Catalog) -> None:
    """Rows without a catalog key whose name the catalog resolves (e.g. "H10080GB") are merged
    into the entry's row: their submissions move, the old row goes, and the name is kept as a
    staff alias so it resolves the same way again."""
    for row in Hardware.objects.filter(catalog_key=""):
        entry = catalog.resolve_hardware(row.accelerator, row.label).entry
        if entry is not None:
            target = Hardware.objects.get(catalog_key=entry.key)
            _fold(Hardware, row, target)
    for model in AIModel.objects.filter(catalog_key=""):
        match = catalog.resolve_model(model.name).entry
        if match is not None:
            _fold(AIModel, model, AIModel.objects.get(catalog_key=match.key))


def _fold(
    cls: type[Hardware] | type[AIModel], old: Hardware | AIModel, new: Hardware | AIModel
) -> None:
    if old.pk == new.pk:
        return
    if cls is Hardware:
        Submission.objects.filter(hardware=old).update(hardware=new)
        CatalogAlias.objects.filter(hardware=old).update(hardware=new)
    else:
        Submission.objects.filter(model=old).update(model=new)
        CatalogAlias.objects.filter(model=old).update(model=new)
    log.info("catalog: folded %s %r into %r", cls.__name__, str(old), str(new))
    old.delete()


def _unique_slug(cls: type[Hardware] | type[AIModel], name: str) -> str:
    base = slugify(name.replace(":", "-").replace(".", "-"))[:180] or "item"
    if not cls.objects.filter(slug=base).exists():
        return base
    return f"{base}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


# -- the server's catalog -----------------------------------------------------------------------


def _staff_accelerator(row: Hardware) -> Accelerator:
    return Accelerator(
        key=row.catalog_key,
        name=row.label,
        vendor=row.vendor or "other",
        family=row.family,
        kind=row.kind or "gpu",
        form_factor=row.form_factor or "card",
        device_class=row.device_class or "datacenter",
        memory_gb=row.memory_gb,
        memory_bandwidth_gbs=row.memory_bandwidth_gbs,
        tdp_w=row.tdp_w,
        idle_low_w=row.idle_power_low_w,
        idle_high_w=row.idle_power_high_w,
        release_date=row.release_date.isoformat() if row.release_date else None,
        methods=tuple(row.methods or ()),
        sources=dict(row.sources or {}),
    )


def _staff_model(row: AIModel) -> ModelEntry:
    return ModelEntry(
        key=row.catalog_key,
        name=row.name,
        organisation=row.organisation,
        family=row.family,
        params_total_b=row.params_total_b,
        params_active_b=row.params_active_b,
        architecture=row.architecture or "dense",
        release_date=row.release_date.isoformat() if row.release_date else None,
        licence=row.licence or None,
        context_length=row.context_length,
        reasoning=row.reasoning,
        sources=dict(row.sources or {}),
    )


def server_catalog() -> Catalog:
    """The shipped catalog plus staff-added entries and staff-mapped names."""
    base = load_catalog()
    hardware = Hardware.objects.exclude(catalog_key="").exclude(
        catalog_key__in=list(base.accelerators)
    )
    models = AIModel.objects.exclude(catalog_key="").exclude(catalog_key__in=list(base.models))
    aliases = CatalogAlias.objects.select_related("hardware", "model")
    return base.extended(
        accelerators=[_staff_accelerator(row) for row in hardware],
        models=[_staff_model(row) for row in models],
        hardware_aliases={
            a.name: a.hardware.catalog_key
            for a in aliases
            if a.kind == CatalogAlias.Kind.HARDWARE and a.hardware and a.hardware.catalog_key
        },
        model_aliases={
            a.name: a.model.catalog_key
            for a in aliases
            if a.kind == CatalogAlias.Kind.MODEL and a.model and a.model.catalog_key
        },
    )


# -- rows for a recorded result ------------------------------------------------------------------


def hardware_entry_row(key: str) -> Hardware | None:
    """The row of catalog entry ``key`` (created from the server catalog on first use), or None
    when no entry has that key."""
    row = Hardware.objects.filter(catalog_key=key).first()
    if row is not None:
        return row
    entry = server_catalog().accelerators.get(key)
    if entry is None:
        return None
    return Hardware.objects.create(  # type: ignore[misc]
        catalog_key=key, slug=_unique_slug(Hardware, key), **hardware_fields(entry)
    )


def model_entry_row(key: str) -> AIModel | None:
    """As ``hardware_entry_row``, for models."""
    row = AIModel.objects.filter(catalog_key=key).first()
    if row is not None:
        return row
    entry = server_catalog().models.get(key)
    if entry is None:
        return None
    return AIModel.objects.create(  # type: ignore[misc]
        catalog_key=key, slug=_unique_slug(AIModel, key), **model_fields(entry)
    )


def hardware_row(manifest: Manifest, resolution: CatalogResolution) -> Hardware:
    """The catalog entry's row. Otherwise a row under the submitted label: a synthetic run's
    fictional hardware (described only by its manifest, and labelled synthetic everywhere), or an
    unknown name waiting for staff (never public until mapped). Such a row is created once and
    never overwritten by a later submission's description."""
    if resolution.hardware_key:
        entry_row = hardware_entry_row(resolution.hardware_key)
        if entry_row is not None:
            return entry_row
    spec = manifest.hardware
    declared = spec.declared_class if spec.declared_class in ("local", "cloud") else "cloud"
    row, _ = Hardware.objects.get_or_create(
        label=spec.label[:200],
        defaults={
            "slug": _unique_slug(Hardware, spec.label[:200]),
            "accelerator": spec.accelerator[:200],
            "vendor": spec.vendor[:100],
            "hw_class": declared,
            "memory_gb": spec.declared_memory_gb,
            "tdp_w": spec.declared_tdp_w,
        },
    )
    return row


def model_row(manifest: Manifest, resolution: CatalogResolution) -> AIModel:
    if resolution.model_key:
        entry_row = model_entry_row(resolution.model_key)
        if entry_row is not None:
            return entry_row
    # As for hardware: a fictional model described by its manifest, or a name waiting for staff.
    spec, name = manifest.model, manifest.model.id[:200]
    row, _ = AIModel.objects.get_or_create(
        name=name,
        defaults={
            "slug": _unique_slug(AIModel, name),
            "family": spec.declared_family[:100],
            "params_total_b": spec.declared_params_total_b,
            "params_active_b": spec.declared_params_active_b,
        },
    )
    return row


def is_catalog_pending(manifest: Manifest, resolution: CatalogResolution) -> bool:
    """A measured run whose model or hardware the catalog does not know waits for staff."""
    return not manifest.simulated and (
        resolution.hardware_key is None or resolution.model_key is None
    )
