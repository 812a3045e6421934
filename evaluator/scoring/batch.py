"""Scoring a batch of responses at once: Arrow decides the rows whose verdict is plain, the pinned
per-row scorers (``score_item``) decide the rest, and a process pool spreads batches over cores.

The per-row scorers cost 10-40 us a response in Python, plus building a ``DatasetItem`` for it. Many
responses need none of that: an open-ended item without a judge, an item whose reference is private,
an empty response, a multiple-choice answer that is just its letter ("C", "(C)", "C."), a short
plain-words answer to an exact-match item. For those the verdict, the extracted answer and the
reason are computed column-wise with ``pyarrow.compute``, and they are exactly what ``score_item``
returns (``tests/evaluator/test_batch_scoring.py`` holds the two equal on a varied corpus).

Exactness is by construction: a row is decided here only when its response (and, for exact match,
its reference) lies in a class where Arrow's RE2 and Python's ``re`` cannot differ: printable ASCII
letters and digits, single spaces, surrounding ASCII whitespace. Anything else goes to
``score_item``, unchanged.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evaluator.items import DatasetItems
from evaluator.results import STATUS_CODE
from evaluator.scoring import NO_JUDGE_REASON, PRIVATE_REFERENCE_REASON, Judge, score_item
from evaluator.scoring import text as _text
from evaluator.scoring.choice import AT_START, answer_key
from evaluator.types import DatasetItem

_PENDING = 255  # not decided yet: scored per row
_CORRECT, _INCORRECT, _UNSCORED = (STATUS_CODE[s] for s in ("correct", "incorrect", "unscored"))
_WS = r"[ \t\n\r]*"  # surrounding whitespace both engines strip alike
_BLANK = r"^[ \t\n\r\f\v]*$"  # what str.strip() empties (the ASCII part of it)
# A response that is one option letter: "C", "(C)", "C.", "C)", "C:" (choice.py reads it "at the
# start of the response" and finds nothing else in it).
_LETTER = rf"^{_WS}\(?(?P<letter>[A-Z])[.):]?{_WS}$"
# Plain words: ASCII letters and digits separated by single spaces.
_WORDS = rf"^{_WS}(?P<words>[A-Za-z0-9]+(?: [A-Za-z0-9]+)*){_WS}$"
_ALPHABET = pa.array([chr(c) for c in range(ord("A"), ord("Z") + 1)])
# Below this many rows a pool's start-up (~0.5 s a process: a fresh interpreter) costs more than
# the second core saves.
POOL_MIN_ROWS = 50_000


@dataclass
class Scores:
    """One batch's scores, row for row: status codes (``evaluator.results.STATUSES``), the
    extracted answers (null where none) and the reasons."""

    status: np.ndarray  # uint8
    extracted: pa.Array  # string
    reason: pa.Array  # string
    per_row: int = 0  # rows ``score_item`` scored (the rest Arrow settled)


def _strings(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())
    return column


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow result as numpy, null counted as False."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


class _Batch:
    def __init__(self, items: pa.Table, responses: pa.Array) -> None:
        n = len(responses)
        self.items, self.responses = items, responses
        self.status = np.full(n, _PENDING, dtype=np.uint8)
        self.extracted = pa.nulls(n, pa.string())
        self.reason = pa.nulls(n, pa.string())
        self.per_row_count = 0
        # ``text.bound`` cuts a longer response to its head and tail before reading it: per row.
        self.short = _mask(pc.less_equal(pc.binary_length(responses), _text.MAX_CHARS))

    def settle(
        self, rows: np.ndarray, code: int, extracted: pa.Array | None, reason: pa.Array | str
    ) -> None:
        """Decide the still pending ``rows`` (a boolean mask)."""
        rows = rows & (self.status == _PENDING)
        if not rows.any():
            return
        self.status[rows] = code
        where = pa.array(rows)
        if extracted is not None:
            self.extracted = pc.if_else(where, extracted, self.extracted)
        self.reason = pc.if_else(where, reason, self.reason)

    def per_row(self, judge: Judge | None) -> None:
        """``score_item`` for every row still pending."""
        pending = self.status == _PENDING
        rows = np.flatnonzero(pending)
        self.per_row_count = len(rows)
        if not len(rows):
            return
        items = DatasetItems(self.items).take(rows)
        responses = self.responses.take(pa.array(rows)).to_pylist()
        got: list[str | None] = []
        why: list[str] = []
        for offset, (item, response) in enumerate(zip(items, responses, strict=True)):
            score = score_item(item, response, judge)
            self.status[rows[offset]] = STATUS_CODE[score.status]
            got.append(score.extracted)
            why.append(score.reason)
        mask = pa.array(pending)
        self.extracted = pc.replace_with_mask(self.extracted, mask, pa.array(got, pa.string()))
        self.reason = pc.replace_with_mask(self.reason, mask, pa.array(why, pa.string()))


def score_table(
    items: pa.Table, responses: pa.Array | pa.ChunkedArray, judge: Judge | None = None
) -> Scores:
    """Score ``responses[i]`` against the item in row ``i`` of ``items`` (the columns of
    ``evaluator.items.SCHEMA``); the same result, row for row, as ``score_item``."""
    responses = _strings(responses)
    if items.num_rows != len(responses):
        raise ValueError(f"{items.num_rows} items for {len(responses)} responses")
    batch = _Batch(items, responses)
    method = _strings(items.column("method"))
    reference = _strings(items.column("reference"))
    has_reference = _mask(pc.is_valid(reference))
    judged = _mask(pc.equal(method, "llm_judge"))
    if judge is None:
        batch.settle(judged, _UNSCORED, None, NO_JUDGE_REASON)
    batch.settle(~judged & ~has_reference, _UNSCORED, None, PRIVATE_REFERENCE_REASON)
    letter = _mask(pc.equal(method, "letter_match")) & has_reference
    exact = _mask(pc.equal(method, "exact_match")) & has_reference
    blank = _mask(pc.match_substring_regex(responses, _BLANK))
    batch.settle((letter | exact) & blank, _INCORRECT, None, _text.EMPTY)
    if letter.any():
        _letters(batch, letter)
    if exact.any():
        _exact(batch, exact, reference)
    batch.per_row(judge)
    return Scores(batch.status, batch.extracted, batch.reason, batch.per_row_count)


# --- multiple choice: a bare letter -------------------------------------------------------------


@lru_cache(maxsize=4096)  # items repeat across rows of one batch in small datasets
def _choice_key(params: str | None, prompt: str, reference: str) -> tuple[int, str]:
    """(a bit per valid option letter A-Z, the reference letter); 0 when the option keys are not
    all single capital letters (``choice.py`` then reads the letters differently: per row)."""
    item = DatasetItem("", prompt, reference, "", "letter_match", json.loads(params or "{}"))
    options, ref = answer_key(item)
    if not all(len(k) == 1 and "A" <= k <= "Z" for k in options):
        return 0, ref
    return sum(1 << (ord(k) - ord("A")) for k in options), ref


def _letters(batch: _Batch, letter: np.ndarray) -> None:
    found = pc.extract_regex(batch.responses, _LETTER)
    rows = letter & batch.short & _mask(found.is_valid()) & (batch.status == _PENDING)
    if not rows.any():
        return
    picked = pc.struct_field(found, [0])
    index = np.asarray(
        pc.fill_null(pc.index_in(picked, value_set=_ALPHABET), 0).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    # The items' keys, for the matching rows only (cached per distinct item).
    at = np.flatnonzero(rows)
    subset = batch.items.take(pa.array(at))
    keys = [
        _choice_key(params, prompt, ref)
        for params, prompt, ref in zip(
            _strings(subset.column("params")).to_pylist(),
            _strings(subset.column("prompt")).to_pylist(),
            _strings(subset.column("reference")).to_pylist(),
            strict=True,
        )
    ]
    bits = np.zeros(len(rows), dtype=np.int64)
    bits[at] = [bit for bit, _ in keys]
    refs = pc.replace_with_mask(
        pa.nulls(len(rows), pa.string()), pa.array(rows), pa.array([r for _, r in keys])
    )
    valid = rows & (((bits >> index) & 1) == 1)
    correct = _mask(pc.equal(picked, refs))
    why = pc.binary_join_element_wise(f"{AT_START} -> ", picked, "; reference ", refs, "")
    batch.settle(valid & correct, _CORRECT, picked, why)
    batch.settle(valid & ~correct, _INCORRECT, picked, why)


# --- exact match: plain words -------------------------------------------------------------------


def _normalised(words: pa.Array) -> pa.Array:
    """``text.normalise_text`` for plain words: lower case, articles and extra spaces dropped."""
    lowered = pc.utf8_lower(words)
    spaced = pc.replace_substring_regex(lowered, _text._ARTICLES.pattern, " ")
    return pc.utf8_trim(pc.replace_substring_regex(spaced, r"\s+", " "), " ")


def _exact(batch: _Batch, exact: np.ndarray, reference: pa.Array) -> None:
    found = pc.extract_regex(batch.responses, _WORDS)
    plain_reference = pc.extract_regex(reference, _WORDS)
    params = _strings(batch.items.column("params"))
    aliases = _mask(pc.match_substring(params, '"aliases"'))  # any mention: per row
    # "answer" may start a declaration ("the answer is ..."), which takes precedence: per row.
    declared = _mask(pc.match_substring(batch.responses, "answer", ignore_case=True))
    rows = (
        exact
        & batch.short
        & _mask(found.is_valid())
        & _mask(plain_reference.is_valid())
        & ~aliases
        & ~declared
        & (batch.status == _PENDING)
    )
    if not rows.any():
        return
    words = pc.struct_field(found, [0])
    mine = _normalised(words)
    theirs = _normalised(pc.struct_field(plain_reference, [0]))
    empty = _mask(pc.equal(mine, "")) | _mask(pc.equal(theirs, ""))  # per row (rare)
    rows &= ~empty
    spaces = pc.fill_null(pc.count_substring(words, " "), 0)
    count = np.asarray(spaces.to_numpy(zero_copy_only=False), dtype=np.int64)
    where = pa.array(
        np.where(count + 1 <= _text.MAX_WHOLE_WORDS, _text.WHOLE_RESPONSE, _text.FIRST_LINE)
    )
    same = _mask(pc.equal(mine, theirs))
    batch.settle(
        rows & same, _CORRECT, words, pc.binary_join_element_wise(where, _text.MATCHES, " ")
    )
    refused = _mask(pc.match_substring_regex(words, _text._REFUSAL.pattern, ignore_case=True))
    batch.settle(rows & ~same & refused, _INCORRECT, words, _text.DECLINED)
    # ``{value!r}`` of plain words is the words in single quotes.
    differs = pc.binary_join_element_wise(where, " '", words, "' does not match the reference", "")
    batch.settle(rows & ~same, _INCORRECT, words, differs)


# --- many batches, on several cores ------------------------------------------------------------


_RESPONSE = "__response"


def _pack(items: pa.Table, responses: pa.Array) -> pa.Buffer:
    """A batch as one Arrow IPC stream for a pool process. Not pickle: a pickled slice carries
    its parent's whole buffers (a 65,536-row slice of a million rows pickled to 100 MB)."""
    table = items.append_column(_RESPONSE, _strings(responses))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _score_task(payload: pa.Buffer) -> Scores:
    table = pa.ipc.open_stream(payload).read_all()
    return score_table(table.drop_columns([_RESPONSE]), table.column(_RESPONSE))


def score_batches(
    batches: Iterable[tuple[pa.Table, pa.Array]],
    judge: Judge | None = None,
    *,
    processes: int = 1,
) -> Iterator[Scores]:
    """``score_table`` over (items, responses) batches, yielded in order.

    ``processes`` > 1 scores batches in that many processes (fresh interpreters: the caller's
    threads and memory are not forked), at most two batches each in flight, so memory stays
    bounded by the batch size. A judge's calls stay in this process (its cache and connection
    live here), so with a judge the batches are scored here."""
    if processes <= 1 or judge is not None:
        for items, responses in batches:
            yield score_table(items, responses, judge)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=context) as pool:
        pending: deque[Future[Scores]] = deque()
        for items, responses in batches:
            pending.append(pool.submit(_score_task, _pack(items, responses)))
            if len(pending) >= 2 * processes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
