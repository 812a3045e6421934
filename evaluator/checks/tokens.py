"""Token counts against response text: a cheap sanity check, never a rejection.

Tokenisers differ and reasoning models spend output tokens on thinking the response omits, so only
wildly implausible ratios are flagged for staff.
"""

from __future__ import annotations

import numpy as np

from evaluator.bundle.tables import QueryColumns
from evaluator.types import Check

MAX_CHARS_PER_TOKEN = 20.0  # no tokenizer packs more than ~10 characters into a token
MAX_TOKENS_PER_CHAR = 200.0  # thinking can dwarf the answer, but not by this much


def check_tokens(queries: QueryColumns) -> list[Check]:
    tokens = queries["output_tokens"]
    chars = queries.response_chars.astype(np.float64)
    known = ~np.isnan(tokens)
    if not known.any():
        return [Check("tokens.plausible", "pass", "no output token counts to check")]
    counts = np.nan_to_num(tokens, nan=0.0)
    too_many_chars = known & (chars > MAX_CHARS_PER_TOKEN * counts + 20)
    too_many_tokens = known & (counts > MAX_TOKENS_PER_CHAR * (chars + 1))
    off = too_many_chars | too_many_tokens
    if off.any():
        row = int(np.flatnonzero(off)[0])
        return [
            Check(
                "tokens.implausible",
                "warn",
                f"{int(off.sum())} queries report output_tokens far from their response length, "
                f"first {queries.ids[row]!r}: {int(counts[row])} tokens for {int(chars[row])} "
                "characters",
                file="queries.parquet",
                row=row,
                field="output_tokens",
            )
        ]
    return [Check("tokens.plausible", "pass", "output token counts fit the response lengths")]
