"""Words the board uses for the engine's constants: scopes, methods, labels (metrics: ``columns``).

The methodology page is generated from these and from the engine's own constants (the manifest
schema's enums, ``evaluator.errors.CODES``); a test checks that every enum value the schema accepts
has an explanation here, so the page cannot silently fall behind the code.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from evaluator import measurement_classes as mc

# What was metered and how: derived from the engine's one measurement-class table
# (evaluator.measurement_classes), so the board, the checks and the schema cannot disagree.
# Results from different scopes measure different things and are never ranked together.
SCOPES: dict[str, tuple[str, str]] = {s.key: (s.label, s.description) for s in mc.SCOPES}
METHODS: dict[str, tuple[str, str]] = {m.key: (m.label, m.description) for m in mc.METHODS}

# Provenance badges: key -> (label, explanation, tone). Engine labels plus ones the board derives.
BADGES: dict[str, tuple[str, str, str]] = {
    "signed": (
        "signed",
        "The bundle's signature (DSSE, Ed25519) verified against a key its submitter registered, "
        "and every member file matches the signed digest.",
        "ok",
    ),
    "challenged": (
        "challenged",
        "The bundle carries a one-time nonce issued by this server, so it was made after the "
        "nonce was issued and cannot be an old run replayed.",
        "ok",
    ),
    "no-challenge": (
        "no challenge",
        "No server nonce: the run could have been made at any time before upload.",
        "neutral",
    ),
    "staff-reproduced": (
        "staff-reproduced",
        "Staff re-ran this (model, hardware) pair and obtained a consistent result.",
        "ok",
    ),
    "reviewed": (
        "reviewed",
        "Validation checks raised warnings; staff reviewed them and approved ranking.",
        "warn",
    ),
    "provisional": (
        "provisional",
        "Some validation checks warned (see the submission's report); treat with care.",
        "warn",
    ),
    "warned": (
        "warned",
        "Some validation checks warned (see the submission's report).",
        "warn",
    ),
    "accuracy-claim-gap": (
        "claim gap",
        "The accuracy the bundle claimed differs from our re-scoring by more than the tolerance.",
        "warn",
    ),
    "unscored-items": (
        "unscored items",
        "Some responses could not be scored automatically; accuracy counts scored items only.",
        "warn",
    ),
    "no-trace": (
        "no trace",
        "The bundle has no raw power trace: per-query energies could not be cross-checked "
        "against the telemetry.",
        "warn",
    ),
    "synthetic": (
        "synthetic",
        "Simulated data for the demo, not a measurement of real hardware.",
        "synthetic",
    ),
    "speculative-decoding": (
        "speculative decoding",
        "The engine drafted tokens speculatively, so decode may outrun the one-token-per-weight-"
        "read roofline; the physics check allowed for it.",
        "neutral",
    ),
    "energy-imputed": (
        "energy imputed",
        "A few queries (at most 5%) read 0 J between two steps of the energy counter; the metrics "
        "count each as the run's mean power times its latency.",
        "neutral",
    ),
    "reference-copy-suspect": (
        "copied references?",
        "Many free-form responses reproduce the dataset's reference answer word for word.",
        "warn",
    ),
    "content-replay-suspect": (
        "copied measurements?",
        "Same answers as another submission, with energies and latencies within 0.5%.",
        "warn",
    ),
    "imported-from-ipw-harness": (
        "harness import",
        "Converted from an Intelligence-per-Watt reference harness run directory.",
        "neutral",
    ),
}


Badge = tuple[str, str, str, str]  # key, label, explanation, tone


def provenance(
    *, challenged: bool, staff_reproduced: bool, review: str, labels: list[str], synthetic: bool
) -> list[Badge]:
    """Every badge a ranked submission earns (the template filter and the table rows use it)."""
    keys = ["signed", "challenged" if challenged else ""]
    if staff_reproduced:
        keys.append("staff-reproduced")
    if review == "approved":
        keys.append("reviewed")
    shown = [label for label in labels if label != "no-challenge" or not challenged]
    if synthetic and "synthetic" not in shown:
        shown.append("synthetic")
    out = []
    for key in [k for k in keys if k] + shown:
        label, explanation, tone = BADGES.get(key, (key, "", "neutral"))
        out.append((key, label, explanation, tone))
    return out


def scope_label(scope: str) -> str:
    """A scope's label, or a ranking class's ("Accelerator only · chained since ...")."""
    if scope in SCOPES:
        return SCOPES[scope][0]
    return mc.ranking_class_label(scope) if scope else "unknown scope"


def method_label(method: str) -> str:
    return METHODS.get(method, (method or "unknown method", ""))[0]


@cache
def manifest_schema() -> dict[str, Any]:
    text = resources.files("evaluator").joinpath("schemas/manifest-v1.json").read_text()
    return json.loads(text)


def schema_enum(*path: str) -> list[str]:
    """An enum of the manifest schema, e.g. ``schema_enum("measurement", "scope")``."""
    node: dict[str, Any] = manifest_schema()
    for part in path:
        node = node["properties"][part]
    return list(node["enum"])


def error_codes() -> dict[str, str]:
    """Every registered stable error code with its description (importing the modules that
    register them first: codes are declared where they are raised)."""
    import evaluator.engine
    import evaluator.harness_import  # noqa: F401
    import submissions.codes  # noqa: F401
    from evaluator.errors import CODES

    return dict(sorted(CODES.items()))
