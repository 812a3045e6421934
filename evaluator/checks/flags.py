"""Visible labels that follow from a check's outcome: one table, so a check and its label agree."""

from __future__ import annotations

from collections.abc import Iterable

from evaluator.checks import energy, references
from evaluator.types import Check

# (check code, status) -> the label the board shows.
LABELS: dict[tuple[str, str], str] = {
    (energy.CHECK_CODE, "pass"): energy.IMPUTED_LABEL,
    (references.CODE, "warn"): references.LABEL,
}


def flag_labels(checks: Iterable[Check]) -> list[str]:
    """The labels ``checks`` call for, each once, in the table's order."""
    seen = {(check.code, check.status) for check in checks}
    return [label for key, label in LABELS.items() if key in seen]
