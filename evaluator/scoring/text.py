"""Shared text helpers and the exact / normalised string-match scorer.

Everything here is a pure function of (item, response): no I/O, no randomness, no LLM. The helpers
(reasoning-block stripping, refusal detection, ``\\boxed{}`` extraction) are shared by the choice and
numeric scorers so that every method reads a response the same way.
"""

from __future__ import annotations

import re
import string
import unicodedata

from evaluator.types import DatasetItem, ItemScore

# Final answers sit at the end of a response and the first line often states them too; the middle of
# a very long response is reasoning. Bounding the scanned text bounds the cost of every regex on
# adversarial (huge) responses without changing the outcome for any real one.
MAX_HEAD_CHARS = 4_000
MAX_TAIL_CHARS = 16_000
MAX_CHARS = MAX_HEAD_CHARS + MAX_TAIL_CHARS

_THINK_BLOCK = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_THINK_CLOSE_ONLY = re.compile(r"^.*?</(think|thinking|reasoning)>", re.IGNORECASE | re.DOTALL)

_REFUSAL = re.compile(
    r"\b(?:I\s*(?:can(?:'|’)?not|can(?:'|’)t|won(?:'|’)t|am\s+unable\s+to|'m\s+unable\s+to|"
    r"am\s+not\s+able\s+to|'m\s+not\s+able\s+to|do\s+not\s+know|don(?:'|’)t\s+know)"
    r"\s+(?:help|assist|answer|provide|determine|comply|know|say|be\s+sure)"
    r"|as\s+an\s+ai(?:\s+language\s+model)?\b"
    r"|I(?:'|’)?m\s+sorry,?\s+but\s+I"
    r"|I\s+(?:must|have\s+to)\s+decline)",
    re.IGNORECASE,
)

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")

# Reasons and labels the batch scorer (``evaluator.scoring.batch``) writes as well: one spelling.
EMPTY = "empty response"
DECLINED = "the model declined to answer"
WHOLE_RESPONSE, FIRST_LINE = "whole response", "first line"
MATCHES = "matches the reference after normalisation"
MAX_WHOLE_WORDS = 12  # a one-line response of at most this many words is the answer itself

# Unicode look-alikes that models emit (minus sign, multiplication sign, non-breaking spaces ...).
_TRANSLATE = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2012": "-",
        "\u2013": "-",  # en dash (models write ranges and negatives with it)
        "\u2014": "-",
        "\u00d7": "*",  # multiplication sign
        "\u22c5": "*",  # dot operator
        "\u00b7": "*",  # middle dot
        "\u00f7": "/",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
    }
)


def unify(text: str) -> str:
    """Map look-alike characters to ASCII so every regex downstream sees one spelling."""
    return text.translate(_TRANSLATE)


def bound(text: str) -> str:
    """Keep the head and the tail of a huge response (see ``MAX_*_CHARS``)."""
    if len(text) <= MAX_CHARS:
        return text
    return text[:MAX_HEAD_CHARS] + "\n...\n" + text[-MAX_TAIL_CHARS:]


def prepare(response: str | None) -> tuple[str, str | None]:
    """Return (text to score, problem). ``problem`` is a reason when there is nothing to score.

    Reasoning blocks (``<think>...</think>``) are dropped: the answer is what follows them. A
    response that opens a block and never closes it was cut off mid-thought, and guessing an answer
    out of unfinished reasoning would credit candidates the model was still weighing.
    """
    if response is None or not response.strip():
        return "", EMPTY
    text = response
    if "<" in text:
        text = _THINK_BLOCK.sub(" ", text)
        if _THINK_OPEN.search(text):
            return "", "response ends inside an unfinished reasoning block"
        # Some chat templates put the opening tag in the prompt, so only the closing tag shows.
        text = _THINK_CLOSE_ONLY.sub(" ", text, count=1)
    text = unify(bound(text)).strip()
    if not text:
        return "", "empty response after removing the reasoning block"
    return text, None


def is_refusal(text: str) -> bool:
    return _REFUSAL.search(text) is not None


def boxed_contents(text: str) -> list[tuple[int, str]]:
    """Every ``\\boxed{...}`` (balanced braces) as (position, content), in order."""
    found: list[tuple[int, str]] = []
    for match in _BOXED.finditer(text):
        depth = 1
        start = match.end()
        i = start
        while i < len(text) and depth:
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            i += 1
        if depth == 0:
            found.append((match.start(), text[start : i - 1].strip()))
    return found


# ----------------------------------------------------------------------------------------------
# Exact / normalised string match
# ----------------------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCT = str.maketrans({ch: " " for ch in string.punctuation})
_WS = re.compile(r"\s+")
_LATEX_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mathbf|texttt)\s*\{([^{}]*)\}")
_MARKDOWN = re.compile(r"[*_`#]+")

# "Final answer: X", "The answer is X", "Answer - X" (last one wins, like a person reading it).
_ANSWER_DECL = re.compile(
    r"\b(?:final\s+answer|the\s+answer|answer)\s*(?:is|would\s+be|should\s+be|:|=|-)\s*:?\s*"
    r"(?P<ans>[^\n]{1,200})",
    re.IGNORECASE,
)


def normalise_text(text: str) -> str:
    """Case, accents-compatible forms, punctuation, articles and whitespace folded away."""
    text = unicodedata.normalize("NFKC", unify(text))
    text = _LATEX_TEXT.sub(r"\1", text)
    text = text.replace("$", " ")
    text = _MARKDOWN.sub(" ", text).lower()
    text = text.translate(_PUNCT)
    text = _ARTICLES.sub(" ", text)
    return _WS.sub(" ", text).strip()


def _strip_sentence_end(text: str) -> str:
    text = text.strip()
    # A declared answer runs to the end of its sentence; "Paris. It is the capital" -> "Paris".
    match = re.match(r"(.+?)(?:\.\s+[A-Z(]|\.$|$)", text)
    return match.group(1).strip() if match else text


def exact_candidates(text: str) -> list[tuple[str, str]]:
    """Candidate answers in priority order, each with a label saying where it came from."""
    candidates: list[tuple[str, str]] = []
    boxes = boxed_contents(text)
    if boxes:
        candidates.append((boxes[-1][1], "boxed answer"))
    decls = list(_ANSWER_DECL.finditer(text))
    if decls:
        candidates.append((_strip_sentence_end(decls[-1].group("ans")), "declared answer"))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and len(lines[0].split()) <= MAX_WHOLE_WORDS:
        candidates.append((_strip_sentence_end(lines[0]), WHOLE_RESPONSE))
    elif lines:
        candidates.append((_strip_sentence_end(lines[0]), FIRST_LINE))
    return candidates


def score_exact(item: DatasetItem, response: str) -> ItemScore:
    text, problem = prepare(response)
    if problem:
        return ItemScore("incorrect", None, problem)
    accepted = [item.reference or "", *item.params.get("aliases", ())]
    targets = {norm for norm in (normalise_text(ref) for ref in accepted if ref) if norm}
    candidates = exact_candidates(text)
    if not candidates:
        return ItemScore("incorrect", None, "no answer found in the response")
    # Scoring reads the highest-priority candidate only: trying every candidate would let a
    # response that lists many answers match one of them.
    value, where = candidates[0]
    norm = normalise_text(value)
    if not norm:
        if is_refusal(text):
            return ItemScore("incorrect", None, DECLINED)
        return ItemScore("incorrect", None, f"{where} is empty after normalisation")
    if norm in targets:
        return ItemScore("correct", value, f"{where} {MATCHES}")
    if is_refusal(text):
        return ItemScore("incorrect", value, DECLINED)
    return ItemScore("incorrect", value, f"{where} {value!r} does not match the reference")
