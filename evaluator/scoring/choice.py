"""Multiple-choice scorer: find the option letter a free-text response settles on.

How a response is read, strongest evidence first:

1. *Declarations*: ``\\boxed{C}``, "The answer is (C)", "Answer: C", "**C**", "C is the correct
   answer", "C. Mali Empire" opening the response, "The answer is Mali Empire" (option text after an
   answer phrase). Among declarations the **last one wins**: models talk through wrong options before
   settling, and a person marking the paper reads the conclusion.
2. Option lists the model echoes back ("A. Ribosome: this is not correct") are not declarations,
   except a listed option the model marks as "the correct answer", which counts at its position.
3. Without any declaration (and without a refusal): the last standalone valid letter or the last
   option text mentioned, whichever comes later.

Only letters that are options of the item count ("(J)" on a four-option item is not an answer), and
lowercase letters count only in unambiguous forms ("(c)", "\\boxed{c}"), because "a" is an article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from evaluator.scoring.text import boxed_contents, is_refusal, prepare
from evaluator.types import DatasetItem, ItemScore, ItemStatus

_PROMPT_OPTION = re.compile(r"^\s*\(?([A-Z])[.)]\s+(\S.*)$", re.MULTILINE)
_ANSWER_PHRASE = re.compile(
    r"\b(?:answer|option|choice)\s*(?:is|would\s+be|:)\s*(?P<rest>[^\n]{1,160})", re.IGNORECASE
)
_MARKED_CORRECT = re.compile(r"\b(?:this|it)\s+is\s+(?:the\s+)?(?:correct|right)\b")
_LEADING_WORD = re.compile(r"^(?:option|choice|the)\s+", re.IGNORECASE)
# How a response that opens with its letter ("C", "(C)", "C. Mali Empire") was read.
AT_START = "answer at the start of the response"
_LATEX_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}")
# Words that may follow a letter used as an answer ("A is correct", "I because ..."); any other
# lowercase word after "A" or "I" means the article / the pronoun ("A queue", "I think").
_AFTER_LETTER_OK = frozenset(
    {"is", "was", "would", "should", "seems", "must", "fits", "matches", "and", "or", "because"}
    | {"since", "as", "here", "in", "for", "with", "which", "that", "from", "over"}
)


def item_options(item: DatasetItem) -> dict[str, str]:
    """Option letter -> text from params (dict or list), else parsed from the prompt."""
    raw: Any = item.params.get("options")
    if isinstance(raw, Mapping) and raw:
        return {str(k).strip().upper(): str(v) for k, v in raw.items()}
    if isinstance(raw, list | tuple) and raw:
        return {chr(ord("A") + i): str(v) for i, v in enumerate(raw)}
    parsed = {m.group(1): m.group(2).strip() for m in _PROMPT_OPTION.finditer(item.prompt)}
    if len(parsed) >= 2:
        return parsed
    return {letter: "" for letter in "ABCD"}


class _Patterns:
    """Regexes specialised to one set of valid letters (compiled once per letter set)."""

    def __init__(self, letters: str) -> None:
        cls = f"[{letters}]"
        low = f"[{letters.lower()}]"
        ident = r"(?![\w'])"
        self.letters = letters
        # "answer is (C)", "final answer: **C**", "correct option is C", "I choose C", "Answer - C".
        self.declared = re.compile(
            r"(?:\banswer\b(?:\*\*)?\s*(?:is|would\s+be|should\s+be|must\s+be|will\s+be|[:=\-])"
            r"|\b(?:correct|right|best|final)\s+(?:option|choice|letter)\s*(?:is|would\s+be|[:=])"
            r"|\bI\s+(?:choose|pick|select|would\s+choose|would\s+pick|would\s+go\s+with|"
            r"'d\s+go\s+with)|\bgo\s+with)"
            r"\s*:?\s*(?:option|choice|letter)?\s*(?:\*\*|__)?\s*"
            rf"(?:\((?P<p>{cls}|{low})\)|\[(?P<b>{cls})\]|(?-i:(?P<l>{cls})){ident}(?![.,]\d)"
            # A lone lowercase letter ending the phrase ("Answer: b") is a letter, not an article.
            rf"|(?-i:(?P<lo>{low}))(?=[ \t]*(?:$|[.)\n,;!]))(?![.,]\d))"
            r"(?-i:(?P<after>\s+[a-z]+))?",
            re.IGNORECASE | re.MULTILINE,
        )
        # "C is the correct answer", "Option C is correct", "So (C) is right".
        self.is_correct = re.compile(
            r"(?:\b(?:option|choice|letter)\s+|(?:^|[\n.,;:!?]\s*|\b(?:so|thus|hence|therefore)\s+))"
            rf"(?:\*\*)?\(?(?-i:(?P<l>{cls}))\)?(?:\*\*)?\s+(?:is|would\s+be|seems\s+to\s+be)\s+"
            r"(?:the\s+|definitely\s+|clearly\s+)?(?:correct|right|best)\b",
            re.IGNORECASE,
        )
        # Bold letter: "**C**", "**(C)**", "**C.**", "**C. Mali Empire**".
        self.bold = re.compile(rf"\*\*\s*\(?(?P<l>{cls})\)?(?:[.):](?:[^*\n]{{0,120}})?)?\s*\*\*")
        # A line that is just a letter or starts "C. text" / "(C) text" / "C) text" / "C: text".
        self.line_start = re.compile(
            rf"^[ \t>]*(?:[-*][ \t]+)?(?:\*\*)?\(?(?P<l>{cls})(?:\*\*)?(?:[.):]|(?=[ \t]*$))",
            re.MULTILINE,
        )
        self.standalone = re.compile(
            rf"(?<![\w'\-/^.])(?-i:(?P<l>{cls})){ident}(?!\.\w)(?P<after>\s+[a-z]+)?"
        )


@lru_cache(maxsize=64)
def _patterns(letters: str) -> _Patterns:
    return _Patterns(letters)


@lru_cache(maxsize=8192)
def _text_regex(texts: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation over option texts, longest first so "Vitamin D3" beats "Vitamin D"."""
    usable = sorted({t.strip() for t in texts if len(t.strip()) >= 1}, key=len, reverse=True)
    if not usable:
        return None
    alternation = "|".join(re.escape(t) for t in usable)
    return re.compile(rf"(?<![\w]){'(?:' + alternation + ')'}(?![\w])", re.IGNORECASE)


class _OptionTexts:
    """The option-text regex, compiled only for a string that could contain an option's text.

    Compiling the alternation costs far more than scoring (options differ on every item, so the
    cache rarely hits). When the searched string and every option text are ASCII, the regex
    (IGNORECASE) can match only where a lower-cased option text occurs in the lower-cased string,
    so a plain substring test proves "no match" exactly and the compile is skipped. Non-ASCII text
    always compiles: Unicode case folding has equivalences (long s, Kelvin sign ...) that
    ``str.lower`` does not mirror.
    """

    def __init__(self, texts: tuple[str, ...]) -> None:
        self.texts = texts
        usable = {t.strip() for t in texts if t.strip()}
        self.empty = not usable
        self.ascii = "".join(usable).isascii()
        self.lowered = tuple(t.lower() for t in usable)

    def regex_for(self, searched: str) -> re.Pattern[str] | None:
        """The regex, or None when it provably matches nothing in ``searched`` (or is empty)."""
        if self.empty:
            return None
        if self.ascii and searched.isascii():
            low = searched.lower()
            if not any(text in low for text in self.lowered):
                return None
        return _text_regex(self.texts)


@lru_cache(maxsize=8192)
def _option_info(
    options: tuple[tuple[str, str], ...],
) -> tuple[str, dict[str, str], _OptionTexts]:
    """(valid letters, option text -> letter, option texts), computed once per option set."""
    by_text = {v.strip().lower(): k for k, v in options if v.strip()}
    return (
        "".join(sorted(k for k, _ in options)),
        by_text,
        _OptionTexts(tuple(v for _, v in options)),
    )


def _letter_of(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g is not None and len(g) == 1).upper()


def _article_guard(letter: str, after: str | None) -> bool:
    """False when "A"/"I" is the article / pronoun: "A queue removes ...", "I think"."""
    if letter not in "AI" or not after:
        return True
    return after.strip().lower() in _AFTER_LETTER_OK


class _Reader:
    def __init__(self, text: str, options: dict[str, str]) -> None:
        self.text = text
        self.options = options
        self.letters, self.by_text, self.option_texts = _option_info(tuple(options.items()))
        self.pat = _patterns(self.letters)
        self.enum_spans = self._enumeration_spans()

    def _enumeration_spans(self) -> list[tuple[int, int, str]]:
        """Lines echoing the option list: at least two lines starting with distinct letters."""
        spans = []
        for m in self.pat.line_start.finditer(self.text):
            end = self.text.find("\n", m.start())
            spans.append((m.start(), end if end >= 0 else len(self.text), m.group("l")))
        if len({letter for _, _, letter in spans}) < 2:
            return []
        return spans

    def in_enumeration(self, pos: int) -> bool:
        return any(s <= pos < e for s, e, _ in self.enum_spans)

    def option_from_text(self, fragment: str, *, anchored: bool) -> str | None:
        if self.option_texts.empty:
            return None
        fragment = _LATEX_WRAP.sub(r"\1", fragment).strip(" *_:$()[]\"'")
        fragment = _LEADING_WORD.sub("", fragment)
        text_re = self.option_texts.regex_for(fragment)
        if text_re is None:
            return None
        if anchored:
            match = text_re.match(fragment)
            return self.by_text.get(match.group(0).lower()) if match else None
        found = {self.by_text.get(m.group(0).lower()) for m in text_re.finditer(fragment)}
        found.discard(None)
        return found.pop() if len(found) == 1 else None

    def declarations(self) -> list[tuple[int, str, str]]:
        """(position, letter, how) for every declaration found."""
        out: list[tuple[int, str, str]] = []
        text = self.text
        for pos, content in boxed_contents(text):
            inner = _LATEX_WRAP.sub(r"\1", content).strip(" ()[]*.:")
            if len(inner) == 1 and inner.upper() in self.options:
                out.append((pos, inner.upper(), "boxed answer"))
            elif (letter := self.option_from_text(content, anchored=False)) is not None:
                out.append((pos, letter, "boxed option text"))
        for m in self.pat.declared.finditer(text):
            letter = _letter_of(m)
            if m.group("l") and not _article_guard(letter, m.group("after")):
                continue
            if not self.in_enumeration(m.start()):
                out.append((m.start(), letter, f"declared answer {m.group(0).strip()!r}"))
        for m in self.pat.is_correct.finditer(text):
            if not self.in_enumeration(m.start("l")):
                out.append((m.start(), m.group("l"), f"statement {m.group(0).strip()!r}"))
        for m in self.pat.bold.finditer(text):
            if not self.in_enumeration(m.start()):
                out.append((m.start(), m.group("l"), f"bold answer {m.group(0).strip()!r}"))
        first = self.pat.line_start.match(text)
        if first and not self.enum_spans:
            out.append((0, first.group("l"), AT_START))
        elif self.enum_spans:
            # "C. 45: This is the correct answer." inside an echoed option list.
            for start, end, letter in self.enum_spans:
                line = text[start:end].lower()
                if _MARKED_CORRECT.search(line):
                    out.append((start, letter, "option marked correct in the option list"))
        # "The answer is Mali Empire": an answer phrase followed by an option's text.
        for m in _ANSWER_PHRASE.finditer(text):
            if self.in_enumeration(m.start()):
                continue
            letter = self.option_from_text(m.group("rest"), anchored=True)
            if letter is not None:
                out.append((m.start(), letter, "option text after an answer phrase"))
        return out

    def fallback(self) -> tuple[int, str, str] | None:
        best: tuple[int, str, str] | None = None
        masked = self.text
        text_re = self.option_texts.regex_for(self.text)
        if text_re is not None:
            for m in text_re.finditer(self.text):
                # Loose scanning ignores very short texts ("2", "3"): digits occur in reasoning.
                if len(m.group(0).strip()) < 3 or self.in_enumeration(m.start()):
                    continue
                letter = self.by_text.get(m.group(0).lower())
                if letter:
                    best = (m.start(), letter, f"option text {m.group(0)!r} mentioned last")
            # "Vitamin D" names an option's text, not option D.
            masked = text_re.sub(lambda m: " " * len(m.group(0)), self.text)
        for m in self.pat.standalone.finditer(masked):
            letter = m.group("l")
            if self.in_enumeration(m.start()) or not _article_guard(letter, m.group("after")):
                continue
            if best is None or m.start() > best[0]:
                best = (m.start(), letter, "last standalone option letter")
        return best


def extract_choice(response: str, options: Mapping[str, str]) -> tuple[str | None, str]:
    """Return (letter or None, how it was found / why nothing was)."""
    text, problem = prepare(response)
    if problem:
        return None, problem
    reader = _Reader(text, dict(options))
    found = reader.declarations()
    if found:
        _, letter, how = max(found, key=lambda d: d[0])
        return letter, how
    if is_refusal(text):
        return None, "the model declined to answer"
    last = reader.fallback()
    if last is not None:
        return last[1], last[2]
    return None, "no option letter or option text found in the response"


def answer_key(item: DatasetItem) -> tuple[dict[str, str], str]:
    """The item's options and its reference as a letter (when it names an option)."""
    options = item_options(item)
    reference = (item.reference or "").strip()
    if reference.upper() in options:
        reference = reference.upper()
    else:
        # A reference spelled as option text is mapped back to its letter.
        reference = next(
            (k for k, v in options.items() if v.strip().lower() == reference.lower()), reference
        )
    return options, reference


def score_choice(item: DatasetItem, response: str) -> ItemScore:
    options, reference = answer_key(item)
    letter, how = extract_choice(response, options)
    if letter is None:
        return ItemScore("incorrect", None, how)
    verdict: ItemStatus = "correct" if letter == reference else "incorrect"
    return ItemScore(verdict, letter, f"{how} -> {letter}; reference {reference}")
