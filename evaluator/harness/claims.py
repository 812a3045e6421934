"""The harness's own grades and metrics, carried as the submitter's claim (manifest ``claimed``).

They are compared with the board's by the engine's claim checks and never used otherwise. A figure
is carried only where the harness defines it as we do on the same energies (same basis); the rest
is named in the import report as not carried, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluator.harness.profile import get, number

ACCURACY_JSON = Path("analysis") / "accuracy.json"
# The harness's ``energy_basis`` -> ours (``evaluator.measurement_classes.BASES``).
_THEIR_BASIS = {"soc": "soc", "gpu": "accelerator", None: "accelerator"}


def _fraction(value: Any) -> float | None:
    result = number(value)
    return result if result is not None and 0 <= result <= 1 else None


def _positive(value: Any) -> float | None:
    result = number(value)
    return result if result is not None and result >= 0 else None


def profile_claims(
    run_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    model: str,
    basis: str,
) -> tuple[dict[str, Any], list[str], dict[str, int]]:
    """(claimed, notes, per-record grading counts) for an ``ipw profile`` run."""
    graded = {"correct": 0, "incorrect": 0, "ungraded": 0}
    for row in rows:
        verdict = get(row, "model_metrics", model, "evaluation", "is_correct")
        key = {True: "correct", False: "incorrect"}.get(verdict, "ungraded")
        graded[key] += 1
    notes: list[str] = []
    claimed: dict[str, Any] = {}
    path = run_dir / ACCURACY_JSON
    summary: Mapping[str, Any] = {}
    if path.is_file():
        try:
            report = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            notes.append(f"analysis/accuracy.json unreadable ({exc}); no claim carried")
            report = {}
        summary = report.get("summary") or {}
        imputed = number(get(report, "data", "efficiency", model, "energy", "imputed_count"))
        if imputed is not None and imputed >= 0:
            claimed["energy_imputed"] = int(imputed)
    accuracy = _fraction(summary.get("accuracy"))
    if accuracy is None and graded["correct"] + graded["incorrect"]:
        accuracy = graded["correct"] / (graded["correct"] + graded["incorrect"])
        notes.append("accuracy claimed from the rows' evaluation.is_correct (no accuracy.json)")
    if accuracy is not None:
        claimed["accuracy"] = accuracy
    theirs = summary.get("energy_basis")
    if summary and _THEIR_BASIS.get(theirs) == basis:
        for key, name in (("ipw", "intelligence_per_watt"), ("ipj", "intelligence_per_joule")):
            value = _positive(summary.get(name))
            if value is not None:
                claimed[key] = value
    elif summary:
        notes.append(
            f"ipw analyze computed IPW/IPJ on energy basis {theirs!r}, the import reads {basis!r}: "
            "not carried"
        )
    if not path.is_file():
        notes.append("no analysis/accuracy.json (ipw analyze not run): no IPW/IPJ claim")
    return claimed, notes, graded


def agentic_claims(
    summary: Mapping[str, Any], traces: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """(claimed, notes) for an ``ipw run`` / ``ipw bench`` directory.

    Its ``efficiency.ipj`` is accuracy over the run's *total* GPU energy and ``ipw`` is accuracy
    over the mean of per-turn average powers: neither is the board's definition. IPJ is converted
    (x the number of tasks with energy, giving accuracy over the mean task energy); IPW is not
    carried."""
    claimed: dict[str, Any] = {}
    notes = ["ipw run's IPW averages per-turn power (not E/t per task): not carried"]
    resolved = [t.get("is_resolved") for t in traces]
    scored = [r for r in resolved if isinstance(r, bool)]
    efficiency = summary.get("efficiency") or {}
    accuracy = _fraction(efficiency.get("accuracy"))
    if accuracy is None and scored:
        accuracy = sum(scored) / len(scored)
    if accuracy is not None:
        claimed["accuracy"] = accuracy
    ipj = _positive(efficiency.get("ipj"))
    with_energy = sum(
        1
        for t in traces
        if number(t.get("query_gpu_energy_joules")) is not None
        or any(number(turn.get("gpu_energy_joules")) is not None for turn in t.get("turns") or [])
    )
    if ipj is not None and with_energy:
        claimed["ipj"] = ipj * with_energy
        notes.append(f"ipw run's IPJ (per total energy) x {with_energy} tasks = per mean energy")
    return claimed, notes
