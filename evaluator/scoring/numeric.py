"""Numeric / symbolic scorer: the response's final number (or expression) against the reference.

Reading order for the response: the last ``\\boxed{...}``, else the last "final answer ..." line, else
the last "answer is / Answer:" line, else the last number anywhere. Within that segment a plain
number is read first (fast path: ``1,234``, ``3/4``, ``\\frac{3}{4}``, ``75%``, ``1.5e3``,
``3 \\times 10^{8}``, with units and currency stripped); only when that fails is the segment read as
an expression by our own safe parser (:mod:`evaluator.scoring.expr`) and compared with sympy.

Tolerance: ``|x - ref| <= max(abs_tol, rel_tol * |ref|)`` with ``abs_tol`` / ``rel_tol`` from params,
both defaulting to ``params["tolerance"]`` (default 1e-6).
"""

from __future__ import annotations

import re
import time
from fractions import Fraction
from functools import lru_cache
from typing import Any

from evaluator.scoring.expr import ExprError, parse_expression
from evaluator.scoring.text import boxed_contents, is_refusal, prepare, unify
from evaluator.types import DatasetItem, ItemScore

DEFAULT_TOLERANCE = 1e-6
SYMBOLIC_TIME_CAP_S = 1.0
SYMBOLIC_POINTS = (Fraction(7, 10), Fraction(13, 7), Fraction(-5, 3))

_N = r"(?:\d{1,3}(?:,\d{3})+(?![\d,])|\d+)(?:\.\d+)?|\.\d+"
_SCI = r"(?:\s*[eE]\s*(?P<e1>[-+]?\d+)|\s*(?:\*|x|\\times|\\cdot)\s*10\s*\^\s*\{?\s*(?P<e2>[-+]?\d+)\s*\}?)"
_PCT = r"(?P<pct>\s*(?:\\?%|percent\b|per\s*cent\b))"
# A whole answer segment that is one number: sign, number, optional fraction or exponent, percent.
_PLAIN = re.compile(
    r"^\s*(?:\\?\$|USD|EUR|GBP|€|£)?\s*(?P<sign>[-+])?\s*(?:\\?\$|€|£)?\s*"
    rf"(?:\\frac\s*\{{\s*(?P<fn>{_N})\s*\}}\s*\{{\s*(?P<fd>{_N})\s*\}}"
    rf"|(?P<num>{_N})(?:\s*/\s*(?P<den>{_N})|{_SCI})?)"
    rf"{_PCT}?"
    # Units and trailing words: "cm²", "cm^2", "km/h", "m/s^2", "hours", "dollars", "°C".
    r"(?P<unit>(?:\s*(?:\\text\s*\{[^{}]*\}|\\mathrm\s*\{[^{}]*\}|\^\s*\{?\d\}?|\\?[A-Za-z°µΩ²³]+"
    r"|/|\.(?=\s|$)|\\circ|\^\\circ))*)\s*[.,;:!]?\s*$"
)
# Any number inside running text (fallback scanning).
_ANY = re.compile(
    r"(?<![\w.^])(?P<sign>-)?(?:\\frac\s*\{\s*(?P<fn>"
    + _N
    + r")\s*\}\s*\{\s*(?P<fd>"
    + _N
    + r")\s*\}"
    r"|(?P<num>"
    + _N
    + r")(?:\s*/\s*(?P<den>"
    + _N
    + r")(?![\d]|\.\d)|"
    + _SCI
    + r")?)"
    + _PCT
    + "?"
)
_FINAL_DECL = re.compile(r"final\s+answer\s*(?:is|:)?\s*:?\s*(?P<rest>[^\n]{1,200})", re.IGNORECASE)
_ANSWER_DECL = re.compile(
    r"\b(?:answer|result)\s*(?:is|would\s+be|should\s+be|:|=)\s*:?\s*(?P<rest>[^\n]{1,200})",
    re.IGNORECASE,
)
_ASSIGN = re.compile(r"^.*(?<![<>!=])=(?!=)")
# The answer is the first clause of a declared segment: "30 since x = 5" -> "30".
_CLAUSE_BREAK = re.compile(
    r",\s|;|\s\(|\s(?:since|because|as|so|or|and|which|where|when|given|but|if|i\.e\.)\s",
    re.IGNORECASE,
)
# Markdown bold hugs a word on one side only; "x**2" (a power) is kept.
_SEGMENT_JUNK = re.compile(
    r"(?<![\w)}])\*\*|\*\*(?![\w({])|__|`|\\\(|\\\)|\\\[|\\\]|\\?\$|\\[,;:! ]"
)


def _fraction(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def _value_of(match: re.Match[str]) -> tuple[Fraction, bool]:
    if match.group("fn") is not None:
        den = _fraction(match.group("fd"))
        if den == 0:
            raise ZeroDivisionError
        value = _fraction(match.group("fn")) / den
    else:
        value = _fraction(match.group("num"))
        if match.group("den") is not None:
            den = _fraction(match.group("den"))
            if den == 0:
                raise ZeroDivisionError
            value /= den
        exp = match.group("e1") or match.group("e2")
        if exp is not None:
            if abs(int(exp)) > 400:
                raise OverflowError
            value *= Fraction(10) ** int(exp)
    if match.group("sign") == "-":
        value = -value
    return value, match.group("pct") is not None


def parse_plain(segment: str) -> tuple[Fraction, bool] | None:
    """(value, is_percent) when the whole segment is one number, else None."""
    match = _PLAIN.match(segment)
    if not match:
        return None
    try:
        return _value_of(match)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None


def _clean_segment(segment: str) -> str:
    segment = _SEGMENT_JUNK.sub(" ", unify(segment)).strip()
    segment = _CLAUSE_BREAK.split(segment, maxsplit=1)[0]
    # "x = 7", "Area = 153 cm^2": the value is what follows the last "=".
    segment = _ASSIGN.sub("", segment).strip()
    return segment.rstrip(" .")


def _segment(text: str) -> tuple[str, str] | None:
    boxes = boxed_contents(text)
    if boxes:
        return boxes[-1][1], "boxed answer"
    for pattern, where in ((_FINAL_DECL, "final answer line"), (_ANSWER_DECL, "answer line")):
        found = list(pattern.finditer(text))
        if found:
            return found[-1].group("rest"), where
    return None


def _last_number(text: str) -> tuple[str, Fraction, bool] | None:
    last = None
    for match in _ANY.finditer(text):
        last = match
    if last is None:
        return None
    try:
        value, pct = _value_of(last)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return last.group(0).strip(), value, pct


@lru_cache(maxsize=4096)
def _reference(reference: str) -> tuple[str, Any, bool]:
    """("num", Fraction, pct) or ("expr", sympy expr, pct) or ("bad", reason, False)."""
    cleaned = _clean_segment(reference)
    plain = parse_plain(cleaned)
    if plain is not None:
        return "num", plain[0], plain[1]
    try:
        return "expr", parse_expression(cleaned), "%" in cleaned
    except ExprError as exc:
        return "bad", str(exc), False


def check_reference(reference: str) -> str | None:
    """None when the reference is usable, else why not (datasets validate with this)."""
    kind, detail, _ = _reference(reference)
    return detail if kind == "bad" else None


def _tolerances(params: Any) -> tuple[float, float]:
    tol = float(params.get("tolerance", DEFAULT_TOLERANCE))
    return float(params.get("abs_tol", tol)), float(params.get("rel_tol", tol))


def _close(value: Any, ref: Any, abs_tol: float, rel_tol: float) -> bool:
    return abs(value - ref) <= max(abs_tol, rel_tol * abs(ref))


def _candidates(value: Any, resp_pct: bool, ref_pct: bool) -> list[Any]:
    # "25%" against 0.25, "0.25" against "25%": the percent sign is a unit of 1/100.
    values = [value]
    if resp_pct and not ref_pct:
        values.append(value / 100)
    if ref_pct and not resp_pct:
        values.append(value * 100)
    return values


def _symbolic_equal(response: Any, ref: Any, abs_tol: float, rel_tol: float) -> bool:
    """Equivalence by exact expansion, then by evaluation at fixed rational points."""
    import sympy

    deadline = time.monotonic() + SYMBOLIC_TIME_CAP_S
    free = sorted(response.free_symbols | ref.free_symbols, key=str)
    if not free:
        try:
            a, b = complex(sympy.N(response, 30)), complex(sympy.N(ref, 30))
        except (TypeError, ValueError):
            return False
        return _close(a, b, abs_tol, rel_tol)
    if len(free) > 3:
        return False
    try:
        if sympy.expand(response - ref) == 0:
            return True
    except (TypeError, ValueError, RecursionError):  # pragma: no cover - defensive
        return False
    for point in SYMBOLIC_POINTS:
        if time.monotonic() > deadline:
            return False
        subs = {sym: sympy.Rational(point) * (i + 1) for i, sym in enumerate(free)}
        try:
            a = complex(sympy.N(response.subs(subs), 20))
            b = complex(sympy.N(ref.subs(subs), 20))
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        if not _close(a, b, max(abs_tol, 1e-9), max(rel_tol, 1e-9)):
            return False
    return True


def _fmt(value: Any) -> str:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return str(value.numerator)
        den = value.denominator
        for prime in (2, 5):
            while den % prime == 0:
                den //= prime
        # Terminating decimals read as decimals ("2.2"); others stay exact ("3/28").
        if den == 1 and value.denominator <= 10**12:
            return format(value.numerator / value.denominator, ".12g")
        return str(value)
    return str(value)


def score_numeric(item: DatasetItem, response: str) -> ItemScore:
    kind, ref, ref_pct = _reference(item.reference or "")
    if kind == "bad":
        return ItemScore("unscored", None, f"reference is not a number or expression: {ref}")
    text, problem = prepare(response)
    if problem:
        return ItemScore("incorrect", None, problem)
    abs_tol, rel_tol = _tolerances(item.params)

    found = _segment(text)
    value: Any = None
    shown = ""
    where = ""
    pct = False
    if found is not None:
        raw, where = found
        segment = _clean_segment(raw)
        plain = parse_plain(segment)
        if plain is not None:
            value, pct = plain
            shown = segment
        else:
            try:
                value = parse_expression(segment)
                shown, pct = segment, False
            except ExprError:
                inner = _last_number_first(segment)
                if inner is not None:
                    shown, value, pct = inner
    if value is None and kind == "expr":
        # An expression answer stated plainly ("x^2 + 11x + 18") has no "answer is" marker; its
        # last number (18) is not the answer, so read the final line as an expression first.
        final_line = next((ln for ln in reversed(text.splitlines()) if ln.strip()), "")
        try:
            value = parse_expression(_clean_segment(final_line))
            shown, pct, where = final_line.strip(), False, "final line"
        except ExprError:
            value = None
    if value is None:
        last = _last_number(text)
        if last is None:
            if is_refusal(text):
                return ItemScore("incorrect", None, "the model declined to answer")
            return ItemScore("incorrect", None, "no number found in the response")
        shown, value, pct = last
        where = "last number in the response"

    if kind == "num" and isinstance(value, Fraction):
        ok = any(_close(v, ref, abs_tol, rel_tol) for v in _candidates(value, pct, ref_pct))
        how = "within tolerance of" if ok else "differs from"
        return ItemScore(
            "correct" if ok else "incorrect",
            _fmt(value),
            f"{where} {shown!r} = {_fmt(value)} {how} reference {item.reference}",
        )
    import sympy

    ref_expr = sympy.Rational(ref) if kind == "num" else ref
    resp_expr = sympy.Rational(value) if isinstance(value, Fraction) else value
    ok = any(
        _symbolic_equal(v, ref_expr, abs_tol, rel_tol) for v in _candidates(resp_expr, pct, ref_pct)
    )
    return ItemScore(
        "correct" if ok else "incorrect",
        _fmt(value) if isinstance(value, Fraction) else str(resp_expr),
        f"{where} {shown!r} is {'' if ok else 'not '}equivalent to reference {item.reference}",
    )


def _last_number_first(segment: str) -> tuple[str, Fraction, bool] | None:
    """The first number of a declared segment ("6/5 hours, i.e. 1.2 hours" -> 6/5)."""
    match = _ANY.search(segment)
    if match is None:
        return None
    try:
        value, pct = _value_of(match)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    return match.group(0).strip(), value, pct
