"""Embeddable SVG badge of a pair: "IPW | 0.0123/W · #2 of 8" (shields-style, no fonts fetched)."""

from __future__ import annotations

from xml.sax.saxutils import escape

CHAR_W = 6.6  # average glyph width of 11px Verdana/DejaVu Sans, good enough for layout


def _width(text: str) -> int:
    return int(len(text) * CHAR_W + 12)


def render(left: str, right: str, *, colour: str = "#0b5cad", title: str = "") -> str:
    """A two-part badge; every text is XML-escaped (model names come from submitters)."""
    lw, rw = _width(left), _width(right)
    total = lw + rw
    left_e, right_e, title_e = escape(left), escape(right), escape(title or f"{left}: {right}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{escape(title or left, {chr(34): "&quot;"})}">'
        f"<title>{title_e}</title>"
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        f'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#444d56"/>'
        f'<rect x="{lw}" width="{rw}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" '
        f'font-family="Verdana,DejaVu Sans,Geneva,sans-serif" font-size="11">'
        f'<text x="{lw / 2:.1f}" y="14">{left_e}</text>'
        f'<text x="{lw + rw / 2:.1f}" y="14">{right_e}</text></g></svg>'
    )
