"""A small, safe math-expression reader: LaTeX-ish / plain text -> sympy expression.

Why our own parser: ``sympy.parse_expr`` and ``sympify`` end in ``eval`` of a transformed string, and
model responses are untrusted input. This recursive-descent parser only ever builds sympy objects from
a whitelist (numbers, single-letter symbols, + - * / ^, sqrt and a few functions), with hard limits on
input length, token count, nesting depth and exponent size, so that no response can run code or make
sympy compute for long (``10^10^10`` is refused, not evaluated).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

MAX_EXPR_CHARS = 300
MAX_TOKENS = 160
MAX_DEPTH = 40
MAX_EXPONENT = 200
MAX_POWER_DIGITS = 2_000  # |exp| * log10|base| for numeric powers


class ExprError(ValueError):
    """The text is not an expression we accept (never a crash, never evaluated)."""


_FUNCS = ("sqrt", "sin", "cos", "tan", "log", "ln", "exp", "abs")
_CONSTS = ("pi", "e")

_LATEX_SIMPLE = [
    (re.compile(r"\\left|\\right|\\displaystyle|\\!|\\,|\\;|\\:|\\ |~"), " "),
    (re.compile(r"\\(?:cdot|times|ast)"), "*"),
    (re.compile(r"\\div"), "/"),
    (re.compile(r"\\(?:pi)\b"), " pi "),
    (re.compile(r"\\(sin|cos|tan|ln|log|exp)\b"), r" \1 "),
    (re.compile(r"\\%|%"), " "),  # percentages are handled by the caller
    (re.compile(r"\\(?:text|mathrm|textbf|mathbf|operatorname)\s*\{[^{}]*\}"), " "),
    (re.compile(r"\\(?:d|t)frac"), r"\\frac"),
]
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<name>[A-Za-z]+)|(?P<op>\*\*|[-+*/^(),]))"
)


def _braced(text: str, start: int) -> tuple[str, int]:
    """Content of the ``{...}`` group starting at ``start`` (or one character), and the end index."""
    while start < len(text) and text[start] == " ":
        start += 1
    if start >= len(text):
        raise ExprError("missing argument")
    if text[start] != "{":
        return text[start], start + 1
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    raise ExprError("unbalanced braces")


def latex_to_plain(text: str, depth: int = 0) -> str:
    """Rewrite the LaTeX we support (``\\frac``, ``\\sqrt``, ``\\cdot`` ...) into plain infix."""
    if depth > MAX_DEPTH:
        raise ExprError("expression nested too deeply")
    for pattern, repl in _LATEX_SIMPLE:
        text = pattern.sub(repl, text)
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("\\frac", i):
            num, i = _braced(text, i + 5)
            den, i = _braced(text, i)
            out.append(f"(({latex_to_plain(num, depth + 1)})/({latex_to_plain(den, depth + 1)}))")
        elif text.startswith("\\sqrt", i):
            i += 5
            root = None
            if i < len(text) and text[i] == "[":
                close = text.find("]", i)
                if close < 0:
                    raise ExprError("unbalanced root index")
                root, i = text[i + 1 : close], close + 1
            arg, i = _braced(text, i)
            inner = latex_to_plain(arg, depth + 1)
            out.append(f"(({inner})^(1/({root})))" if root else f"sqrt({inner})")
        elif text[i] == "\\":
            match = re.match(r"\\[A-Za-z]*", text[i:])
            command = match.group(0) if match else "backslash"
            raise ExprError(f"unsupported LaTeX command {command}")
        elif text[i] in "{}":
            out.append("(" if text[i] == "{" else ")")
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _tokenise(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExprError(f"unexpected character {text[pos]!r}")
        pos = match.end()
        if match.group("num"):
            tokens.append(("num", match.group("num")))
        elif match.group("name"):
            name = match.group("name")
            if name in _FUNCS or name in _CONSTS:
                tokens.append(("name", name))
            elif len(name) <= 3:
                # "xy" is x*y; longer words are prose, not maths.
                tokens.extend(("sym", ch) for ch in name)
            else:
                raise ExprError(f"unknown name {name!r}")
        else:
            op = match.group("op")
            tokens.append(("op", "^" if op == "**" else op))
        if len(tokens) > MAX_TOKENS:
            raise ExprError("expression too long")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        import sympy

        self.sp = sympy
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExprError("unexpected end of expression")
        self.i += 1
        return token

    def parse(self) -> Any:
        value = self.expr()
        if self.peek() is not None:
            raise ExprError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return value

    def expr(self) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError("expression nested too deeply")
        value = self.term()
        while (tok := self.peek()) is not None and tok[1] in "+-" and tok[0] == "op":
            self.take()
            rhs = self.term()
            value = value + rhs if tok[1] == "+" else value - rhs
        self.depth -= 1
        return value

    def term(self) -> Any:
        value = self.unary()
        while (tok := self.peek()) is not None:
            if tok == ("op", "*"):
                self.take()
                value = value * self.unary()
            elif tok == ("op", "/"):
                self.take()
                divisor = self.unary()
                if divisor == 0:
                    raise ExprError("division by zero")
                value = value / divisor
            elif tok[0] in ("sym", "name") or tok == ("op", "("):
                # Implicit multiplication (2x, 2(x+1), x y) but never number-number: "1 234 567"
                # is a badly written number, not a product.
                value = value * self.power()
            else:
                break
        return value

    def unary(self) -> Any:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in "+-":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExprError("expression nested too deeply")
            value = self.unary()
            self.depth -= 1
            return -value if tok[1] == "-" else value
        return self.power()

    def power(self) -> Any:
        base = self.atom()
        if self.peek() == ("op", "^"):
            self.take()
            exponent = self.unary()
            return self._pow(base, exponent)
        return base

    def _pow(self, base: Any, exponent: Any) -> Any:
        sp = self.sp
        if exponent.is_number:
            if abs(float(exponent)) > MAX_EXPONENT:
                raise ExprError("exponent too large")
            if base.is_number and base != 0:
                magnitude = abs(float(exponent)) * max(1.0, abs(float(sp.log(abs(base), 10))))
                if magnitude > MAX_POWER_DIGITS:
                    raise ExprError("power too large")
        elif base.is_number:
            raise ExprError("symbolic exponents are not supported")
        return sp.Pow(base, exponent)

    def atom(self) -> Any:
        sp = self.sp
        kind, value = self.take()
        if kind == "num":
            return sp.Rational(Fraction(value))
        if kind == "sym":
            return sp.Symbol(value)
        if kind == "name":
            if value == "pi":
                return sp.pi
            if value == "e":
                return sp.E
            if self.peek() != ("op", "("):
                arg = self.power()  # "\sin x", "\sqrt 2" without parentheses
            else:
                self.take()
                arg = self.expr()
                if self.take() != ("op", ")"):
                    raise ExprError("expected ')'")
            funcs = {
                "sqrt": sp.sqrt,
                "sin": sp.sin,
                "cos": sp.cos,
                "tan": sp.tan,
                "log": sp.log,
                "ln": sp.log,
                "exp": sp.exp,
                "abs": sp.Abs,
            }
            return funcs[value](arg)
        if (kind, value) == ("op", "("):
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise ExprError("expected ')'")
            return inner
        raise ExprError(f"unexpected {value!r}")


def parse_expression(text: str) -> Any:
    """Parse ``text`` (plain or LaTeX) into a sympy expression, or raise ``ExprError``."""
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError("expression longer than the cap")
    plain = latex_to_plain(text.replace("$", " "))
    tokens = _tokenise(plain)
    if not tokens:
        raise ExprError("empty expression")
    return _Parser(tokens).parse()
