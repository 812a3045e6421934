"""Pasted reference answers: responses that reproduce the dataset's reference answer verbatim.

A dataset whose references are public can be "run" without a model: paste each reference as the
response and every item scores correct. Multiple-choice letters and short exact answers ("Paris",
"42") cannot tell a paste from a right answer, so the check looks only at **free-form** items: those
scored by the LLM judge (``llm_judge``), and ``exact_match`` items whose reference has at least
``MIN_WORDS`` words. An item counts as *copied* when its normalised response contains its whole
normalised reference (normalisation: Unicode NFKC, casefold, every character that is not a letter
or digit becomes a space, runs of spaces collapse), so "Answer: <reference>" is a copy too.

Honest models paraphrase: reproducing a sentence of six or more words of someone else's explanation
word for word happens on the odd item, not on a quarter of them. The rule: more than
``MAX_COPIED_SHARE`` (25 %) of the free-form items, and at least ``MIN_COPIED`` (3) of them, copied
-> the warning ``responses.copy_reference``: the result is held for staff review (never rejected:
a terse model on a dataset of short references may trip it honestly, and a person decides).
Versions whose references are private are not exposed to this attack; the board marks them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evaluator.results import ItemResults
from evaluator.types import Check

CODE = "responses.copy_reference"
LABEL = "reference-copy-suspect"
MIN_WORDS = 6
MAX_COPIED_SHARE = 0.25
MIN_COPIED = 3
_CHUNK = 65_536
FREE_FORM = ("llm_judge",)  # always free-form; exact_match only with a long reference


def normalise(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """NFKC, casefold, non-alphanumerics to spaces, collapsed: vectorised in Arrow."""
    text = pc.utf8_normalize(pc.fill_null(column, ""), "NFKC")
    text = pc.utf8_lower(text)  # Arrow's lower is full Unicode lowercasing, casefold's core
    text = pc.replace_substring_regex(text, r"[^\p{L}\p{N}]+", " ")
    return pc.utf8_trim_whitespace(text)


def copied_references(items: ItemResults) -> tuple[int, int]:
    """(free-form items, of which copied) for the results' responses against the references."""
    table = items.dataset_items.table
    references = table.column("reference")
    methods = pc.cast(table.column("method"), pa.string())
    known = pc.is_valid(references)  # None: the references are private and the engine lacks them
    ref_norm = normalise(references)
    words = pc.add(pc.count_substring(ref_norm, " "), 1)
    free_form = pc.and_(
        known,
        pc.or_(
            pc.is_in(methods, pa.array(FREE_FORM)),
            pc.and_(pc.equal(methods, "exact_match"), pc.greater_equal(words, MIN_WORDS)),
        ),
    )
    mask = np.asarray(free_form.to_numpy(zero_copy_only=False), dtype=bool)
    if not mask.any():
        return 0, 0
    where = np.flatnonzero(mask)
    copied = 0
    for start in range(0, len(where), _CHUNK):  # bounded memory on a million free-form items
        rows = pa.array(where[start : start + _CHUNK])
        refs = pc.take(ref_norm, rows).to_pylist()
        responses = normalise(pc.take(items.response, rows)).to_pylist()
        copied += sum(
            1
            for ref, response in zip(refs, responses, strict=True)
            if ref and f" {ref} " in f" {response} "
        )
    return len(where), copied


def check_copied_references(items: ItemResults) -> list[Check]:
    free_form, copied = copied_references(items)
    if free_form == 0:
        return []
    share = copied / free_form
    if copied >= MIN_COPIED and share > MAX_COPIED_SHARE:
        return [
            Check(
                CODE,
                "warn",
                f"{copied} of {free_form} free-form responses ({share:.0%}) reproduce the "
                f"dataset's reference answer word for word (more than {MAX_COPIED_SHARE:.0%} is "
                "not how models answer): held for staff review",
                file="queries.parquet",
                field="response",
            )
        ]
    return [
        Check(
            CODE,
            "pass",
            f"{copied} of {free_form} free-form responses reproduce their reference verbatim",
        )
    ]
