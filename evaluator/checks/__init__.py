"""Validation checks. Each returns the ``Check`` outcomes it produced (pass or warn) and raises
``BundleError`` for anything that rejects the bundle; the engine runs them in a fixed order."""

from __future__ import annotations

from collections.abc import Sequence


def preview(values: Sequence[object], limit: int = 5) -> str:
    """'a, b, c and 12 more': enough for a person to find the problem, bounded for huge lists."""
    shown = ", ".join(str(value) for value in values[:limit])
    rest = len(values) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
