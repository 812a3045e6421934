"""Number formatting with sensible precision, URL-state helpers and provenance badges."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from django import template
from django.utils.http import urlencode

from .. import vocab
from ..pairs import PairKey
from ..state import SORTABLE, BoardQuery

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


@register.filter
def params_b(value: float | None) -> str:
    """Billions of parameters: 0.5B, 8B, 70B."""
    if value is None:
        return "?"
    return f"{value:.1f}B" if value < 10 and value != int(value) else f"{value:.0f}B"


@register.filter
def isodate(value: Any) -> str:
    """The date part of an ISO timestamp string or a date/datetime."""
    if not value:
        return "–"
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    return str(value)[:10]


@register.filter
def scope_label(scope: str) -> str:
    return vocab.scope_label(scope)


@register.filter
def scope_of(ranking_class: str) -> str:
    """The measurement scope a ranking class qualifies ("accelerator-chained" -> "accelerator")."""
    return str(ranking_class or "").partition("-")[0]


@register.filter
def method_label(method: str) -> str:
    return vocab.method_label(method)


@register.filter
def pair_url(submission: Any) -> str:
    return PairKey.of(submission).url()


@register.filter
def pair_token(submission: Any) -> str:
    return PairKey.of(submission).token


@register.filter
def provenance(submission: Any) -> list[vocab.Badge]:
    """(key, label, explanation, tone) of every badge a ranked submission earns."""
    return vocab.provenance(
        challenged=bool(submission.challenge_id),
        staff_reproduced=submission.staff_reproduced,
        review=submission.review,
        labels=submission.labels,
        synthetic=submission.synthetic,
    )


@register.simple_tag
@lru_cache(maxsize=2048)
def sort_params(query: BoardQuery, key: str) -> str:
    """Parameters of a column header link: toggles direction on the current column.

    Pure and called twice per header per ranking (href and hx-get): memoised on the (frozen,
    hashable) query.
    """
    if query.sort == key:
        params = query.to_params(descending=not query.descending, page=1)
    else:
        params = query.to_params(sort=key, descending=SORTABLE[key][2], page=1)
    return urlencode(params)


@register.simple_tag
def sort_label(key: str) -> str:
    return SORTABLE[key][0]


@register.simple_tag
def with_params(query: BoardQuery, **changes: Any) -> str:
    """The query string of ``query`` with some fields changed, e.g. ``page=2``."""
    return urlencode(query.to_params(**changes))


@register.filter
def remove_params(column: Any, keys: list[Any]) -> str:
    """The compare query string without ``column``'s pair."""
    return str(column.remove_params(keys))
