"""Number formatting with sensible precision, URL-state helpers and provenance badges."""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from functools import lru_cache
from html import escape
from typing import Any, Protocol

from django import template
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from .. import columns, vocab
from ..pairs import PairKey
from ..state import BoardQuery

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
        descending = columns.sorts()[key].higher_is_better
        params = query.to_params(sort=key, descending=descending, page=1)
    return urlencode(params)


@register.simple_tag
def with_params(query: BoardQuery, **changes: Any) -> str:
    """The query string of ``query`` with some fields changed, e.g. ``page=2``."""
    return urlencode(query.to_params(**changes))


@register.filter
def remove_params(column: Any, keys: list[Any]) -> str:
    """The compare query string without ``column``'s pair."""
    return str(column.remove_params(keys))


# --- cells of the column registry (``columns``): each value formatted by its column's format ---

MISSING = "–"
_FORMATS: dict[str, Callable[[Any], str]] = {
    "sig": sig,
    "pct": pct,
    "count": lambda v: f"{v:,.0f}",
    "params": params_b,
    "date": isodate,
    "text": str,
}


class _Shown(Protocol):
    """What formats a value: a registry column, or a per-query one."""

    fmt: str
    suffix: str


def text(value: Any, column: _Shown, unit: bool = True, digits: int = 3) -> str:
    """A value as its column shows it, with its unit unless ``unit=False``."""
    if value is None:
        return MISSING
    shown = sig(value, digits) if column.fmt == "sig" else _FORMATS[column.fmt](value)
    return f"{shown}\u00a0{column.suffix}" if unit and column.suffix else shown


@lru_cache(maxsize=256)
def _parsed(template_text: str) -> tuple[tuple[str, str | None, str], ...]:
    return tuple(
        (lit, key, spec or "") for lit, key, spec, _ in string.Formatter().parse(template_text)
    )


def second_line(row: Any, parts: tuple[str, ...]) -> str:
    """A column's note or detail: its parts joined, a part with a missing value left out."""
    by_key = columns.by_key()
    shown = []
    for part in parts:
        pieces = []
        for literal, key, spec in _parsed(part):
            pieces.append(literal)
            if key is None:
                continue
            value = columns.value(row, by_key[key])
            if value is None:
                break
            # ``{key:n2}``: no unit ("n"), two significant figures
            digits = int(spec.lstrip("n") or 3)
            pieces.append(text(value, by_key[key], unit="n" not in spec, digits=digits))
        else:
            shown.append("".join(pieces))
    return " · ".join(shown)


# Cells are joined as plain strings, each piece escaped with the standard library's ``escape``:
# ``format_html`` per cell cost a page of 50 rows more than everything else in a row.


@register.simple_tag
def metric_cells(row: Any, cells: tuple[columns.Column, ...]) -> SafeString:
    """A table row's metric cells; a per-unit figure ("/W") carries its unit in the header."""
    out = []
    for c in cells:
        shown = text(columns.value(row, c), c, unit=not c.suffix.startswith("/"))
        note = second_line(row, c.note)
        out.append(
            f'<td class="num{" strong" if c.key == columns.RANKED_BY else ""}">{escape(shown)}'
            + (f'<span class="sub">{escape(note)}</span>' if note else "")
            + "</td>"
        )
    return mark_safe("".join(out))  # every piece is escaped above


@register.simple_tag
def figure(obj: Any, column: columns.Column) -> SafeString:
    """A figure: its value, its unit and its detail line."""
    value = columns.value(obj, column)
    html = escape(text(value, column, unit=False))
    if value is not None:
        if column.suffix:
            html += f" <small>{escape(column.suffix)}</small>"
        if detail := second_line(obj, column.detail):
            html += f'<span class="ci">{escape(detail)}</span>'
    return mark_safe(html)  # every piece is escaped above


@register.simple_tag
def query_cell(row: dict[str, Any], column: columns.QueryColumn) -> str:
    """A drill-down cell of the per-query file."""
    return text(row.get(column.name), column)
