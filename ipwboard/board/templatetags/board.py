"""Number formatting with sensible precision, and URL-state helpers."""

from __future__ import annotations

import math

from django import template
from django.utils.http import urlencode

from ..queries import SORTABLE, BoardQuery

register = template.Library()


@register.filter
def sig(value: float | None, digits: int = 3) -> str:
    """Significant figures: 0.00312, 4.17, 1,230 — not 0.0031234567."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:,.{decimals}f}"


@register.filter
def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


@register.simple_tag
def sort_params(query: BoardQuery, key: str) -> str:
    if query.sort == key:
        params = query.to_params(descending=not query.descending)
    else:
        params = query.to_params(sort=key, descending=SORTABLE[key][2])
    return urlencode(params)
