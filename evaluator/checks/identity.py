"""What the catalog makes of a manifest's names: resolved, waiting for staff, or a look-alike.

Synthetic runs name fictional things and are not looked up. A measured run whose model or
hardware the catalog does not know is not rejected: it is warned (``catalog.unknown_*``) and the
server holds it in the catalog review queue until staff map the name (see
``submissions/services/catalog_review.py``).
"""

from __future__ import annotations

from evaluator.catalog import Catalog, HardwareMatch, ModelMatch
from evaluator.manifest_model import Manifest
from evaluator.names import NAME_CONFUSABLE, confusable_with, shown
from evaluator.types import Check

MANIFEST = "manifest.json"


def identity_checks(
    manifest: Manifest, hardware: HardwareMatch, model: ModelMatch, catalog: Catalog
) -> list[Check]:
    """What the catalog makes of the manifest's names: resolved, waiting for staff, or a
    look-alike of a known name (held). Synthetic runs name fictional things and are not looked
    up."""
    if manifest.simulated:
        return [Check("catalog.resolved", "pass", "synthetic run: fictional model and hardware")]
    checks: list[Check] = []
    found = []
    for what, entry, names in (
        ("hardware", hardware.entry, manifest.hardware.names),
        ("model", model.entry, (manifest.model.id,)),
    ):
        if entry is not None:
            found.append(f"{what} {entry.name}")
            continue
        imitated = next(
            (known for name in names if (known := confusable_with(name, catalog.known_names()))),
            None,
        )
        if imitated is not None:
            checks.append(
                Check(
                    NAME_CONFUSABLE,
                    "warn",
                    f"the {what} name {shown(names[0])!r} looks like {imitated!r} but is not it "
                    "(different characters): held for review",
                    file=MANIFEST,
                    field=what,
                )
            )
        checks.append(
            Check(
                f"catalog.unknown_{what}",
                "warn",
                f"the catalog has no {what} named {' or '.join(repr(shown(n)) for n in names)}"
                + (
                    " (a generic label that names no chip)"
                    if what == "hardware" and hardware.generic
                    else ""
                )
                + ": held until staff map it to a catalog entry",
                file=MANIFEST,
                field=what,
            )
        )
    if found:
        checks.insert(0, Check("catalog.resolved", "pass", "; ".join(found)))
    return checks
