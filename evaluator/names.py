"""Names a submitter writes (model id, hardware label, engine ...): normalised, never deceptive.

A model name with a Cyrillic "а", a zero-width space or a right-to-left override renders exactly
like a real one. So names are NFKC-normalised, control and format characters (zero-width, bidi
overrides and isolates) are refused outright (``manifest.name_invalid``), and a name whose
confusable skeleton equals a known catalog name without being that name is flagged
(``manifest.name_confusable``, held for review).

The skeleton folds the homoglyphs seen in practice (Cyrillic and Greek letters that look Latin,
full-width forms via NFKC, dashes and dots) after UTS #39's idea; it is a deliberate subset, not
the full Unicode confusables table.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from evaluator.errors import BundleError, register

NAME_INVALID = register(
    "manifest.name_invalid",
    "A name in the manifest contains control, zero-width or bidirectional-override characters.",
)
NAME_CONFUSABLE = "manifest.name_confusable"  # a warning code (Check), held for review
MANIFEST = "manifest.json"
_SHOWN = 80  # characters of a user's value echoed back in a message

# Look-alikes -> the Latin letter they imitate (lower case; the skeleton is case-folded first).
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "ѕ": "s",
        "ԁ": "d",
        "ɡ": "g",
        "һ": "h",
        "ԛ": "q",
        "ԝ": "w",
        # Greek
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "μ": "u",
        # Digits and letters that stand in for each other
        "0": "o",
        "1": "l",
        "ı": "i",
        "ℓ": "l",
        # Dashes and dots
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "−": "-",
        "․": ".",
        "。": ".",
    }
)


def shown(value: str) -> str:
    """A user's value for an error message: bounded, so a 10,000-character id is not echoed."""
    return value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"


def clean_name(value: str, where: str) -> str:
    """NFKC-normalised ``value``; ``BundleError(manifest.name_invalid)`` if it hides characters."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs"):
            raise BundleError(
                NAME_INVALID,
                f"{where} contains the invisible or control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}); names must be plain visible text",
                file=MANIFEST,
                field=where,
            )
    return unicodedata.normalize("NFKC", value).strip()


def skeleton(value: str) -> str:
    folded = unicodedata.normalize("NFKC", value).casefold().translate(_HOMOGLYPHS)
    # Marks left by decomposition (e.g. a combining dot on "і") do not change how a name reads.
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", folded) if unicodedata.category(c) != "Mn"
    )
    return "".join(c for c in stripped if not c.isspace() and c not in "-_")


def confusable_with(value: str, known: Iterable[str]) -> str | None:
    """A known name that ``value`` imitates (same skeleton, different text), or None."""
    mine = skeleton(value)
    plain = unicodedata.normalize("NFKC", value).casefold()
    for name in known:
        if skeleton(name) == mine and unicodedata.normalize("NFKC", name).casefold() != plain:
            return name
    return None
