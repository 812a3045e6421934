"""The batch scorer (``evaluator.scoring.batch``) against the per-row scorer (``score_item``).

The batch scorer settles plain rows with ``pyarrow.compute`` and hands the rest to ``score_item``;
every row must come out exactly as ``score_item`` scores it: status, extracted answer and reason.
The corpus crosses many item kinds (options as a dict, a list, parsed from the prompt, odd keys;
exact match with aliases, articles, punctuation; numeric; open-ended; private references) with
responses that sit on and just off the edges of the vectorised classes.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
from scorer_cases import CASES, ITEMS

from evaluator.items import DatasetItems
from evaluator.results import STATUSES
from evaluator.scoring import score_item
from evaluator.scoring.batch import Scores, score_batches, score_table
from evaluator.types import DatasetItem, ItemScore

FOUR = {"A": "Songhai Empire", "B": "Mali Empire", "C": "Ghana Empire", "D": "Ethiopian Empire"}
EXTRA_ITEMS = [
    DatasetItem("mc-dict", "Q?", "B", "d", "letter_match", {"options": FOUR}),
    DatasetItem("mc-list", "Q?", "c", "d", "letter_match", {"options": ["x", "y", "z"]}),
    DatasetItem("mc-text-ref", "Q?", "Mali Empire", "d", "letter_match", {"options": FOUR}),
    DatasetItem("mc-bad-ref", "Q?", "E", "d", "letter_match", {"options": FOUR}),
    DatasetItem("mc-prompt", "Pick:\nA. one\nB. two\nC. three", "C", "d", "letter_match", {}),
    DatasetItem("mc-default", "Pick one", "D", "d", "letter_match", {}),
    DatasetItem("mc-odd-keys", "Q?", "AA", "d", "letter_match", {"options": {"AA": "x", "b": "y"}}),
    DatasetItem("mc-lower-keys", "Q?", "a", "d", "letter_match", {"options": {"a": "x", "b": "y"}}),
    DatasetItem("mc-letter-texts", "Q?", "B", "d", "letter_match", {"options": ["C", "A", "B"]}),
    DatasetItem("mc-private", "Q?", None, "d", "letter_match", {"options": FOUR}),
    DatasetItem("ex-plain", "Q?", "Paris", "d", "exact_match", {}),
    DatasetItem("ex-words", "Q?", "New York City", "d", "exact_match", {}),
    DatasetItem("ex-article", "Q?", "The Beatles", "d", "exact_match", {}),
    DatasetItem("ex-only-article", "Q?", "the", "d", "exact_match", {}),
    DatasetItem("ex-punct", "Q?", "U.S.A.", "d", "exact_match", {}),
    DatasetItem("ex-space", "Q?", "  apple 7 ", "d", "exact_match", {}),
    DatasetItem("ex-alias", "Q?", "Paris", "d", "exact_match", {"aliases": ["Paname"]}),
    DatasetItem("ex-unicode", "Q?", "Zürich", "d", "exact_match", {}),
    DatasetItem("ex-empty-ref", "Q?", "", "d", "exact_match", {}),
    DatasetItem("ex-private", "Q?", None, "d", "exact_match", {}),
    DatasetItem("num", "Q?", "30", "d", "numeric_match", {"tolerance": 1e-6}),
    DatasetItem("num-bad-ref", "Q?", "not a number", "d", "numeric_match", {}),
    DatasetItem("judge", "Q?", "an essay", "d", "llm_judge", {"rubric": "r"}),
    DatasetItem("judge-private", "Q?", None, "d", "llm_judge", {}),
]
EDGE_RESPONSES = [
    *("A", "B", "C", "D", "E", "Z", "c", "b", "a", "AA"),
    *(" C ", "\tB\n", "\r\nD\r\n", "(B)", "(c)", "B.", "B)", "B:", "(B", "B).", "(B).", "**B**"),
    *("B. Mali Empire", "Answer: C", "answer: b", "The answer is (C).", "\\boxed{C}", "> C"),
    *("", " ", "\n\t ", "\x0b\x0c ", "\u00a0", "\u2003C", "C\u00a0", "\x0bC", "C\x1c", "\u3000"),
    *("Paris", "paris", " PARIS ", "Paris.", "Paris is the capital", "Paname", "the Paris"),
    *("New York City", "new  york city", "New York", "The Beatles", "Beatles", "the", "a an"),
    *("apple 7", "apple7", "Zürich", "Zurich", "U.S.A.", "USA", "I cannot help", "I can't help"),
    *(
        "as an AI I cannot say",
        "I am unable to answer",
        "I'm sorry, but I can't",
        "<think>C</think>",
    ),
    *(
        "<think>still thinking",
        "30",
        "The answer is 30.",
        "thirty",
        "3 0",
        "One two three four five",
    ),
    " ".join(["word"] * 12),
    " ".join(["word"] * 13),
    "Answer",
    "final answer is Paris",
    "x" * 25_000,
    " " * 25_000 + "C",  # cut to head and tail before reading: not "at the start"
    "C" + " " * 25_000,
    "C\nB",
]


class _EchoJudge:
    """A judge that marks a response correct when it contains the reference."""

    judge_id = "echo"

    def judge(self, item: DatasetItem, response: str) -> ItemScore:
        ok = bool(item.reference) and item.reference in response
        return ItemScore("correct" if ok else "incorrect", response[:10], "echo judge")


def _corpus(seed: int = 0) -> tuple[list[DatasetItem], list[str | None]]:
    """Every scorer case, every item crossed with every edge response, and random mixtures."""
    items = [ITEMS[key] for key, *_ in CASES] + list(EXTRA_ITEMS)
    responses: list[str | None] = [response for _, response, *_ in CASES]
    every = list(ITEMS.values()) + EXTRA_ITEMS
    responses += [random.Random(seed).choice(EDGE_RESPONSES) for _ in EXTRA_ITEMS]
    for item in every:
        for response in EDGE_RESPONSES:
            items.append(item)
            responses.append(response)
    rng = random.Random(seed)
    pieces = [*EDGE_RESPONSES[:60], "Answer:", "(", ")", " ", "\n", "the", "I", "é"]
    for _ in range(3000):
        items.append(rng.choice(every))
        responses.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))))
    items.append(EXTRA_ITEMS[0])
    responses.append(None)  # a null response reads as an empty one
    return items, responses


def _rows(scores: Scores) -> list[tuple[str, str | None, str]]:
    return list(
        zip(
            (STATUSES[code] for code in scores.status),
            scores.extracted.to_pylist(),
            scores.reason.to_pylist(),
            strict=True,
        )
    )


@pytest.mark.parametrize("judge", [None, _EchoJudge()], ids=["no-judge", "judge"])
def test_batch_equals_per_row(judge: _EchoJudge | None) -> None:
    items, responses = _corpus()
    table = DatasetItems.build(items).table
    scores = score_table(table, pa.array(responses, pa.string()), judge)
    expected = [
        score_item(item, response, judge)  # type: ignore[arg-type]  # None reads as empty
        for item, response in zip(items, responses, strict=True)
    ]
    got = _rows(scores)
    mismatches = [
        (items[i].id, responses[i], got[i], (e.status, e.extracted, e.reason))
        for i, e in enumerate(expected)
        if got[i] != (e.status, e.extracted, e.reason)
    ]
    assert not mismatches, mismatches[:10]
    # Not a test of score_item against itself: Arrow settled a good share of the rows.
    assert scores.per_row < 0.8 * len(items)


def test_plain_rows_are_settled_without_the_per_row_scorers() -> None:
    items = [EXTRA_ITEMS[0]] * 4 + [EXTRA_ITEMS[10]] * 3 + [EXTRA_ITEMS[22]]
    responses = ["B", " (C) ", "", "D.", "paris", "Lyon", "I cannot help", "an essay"]
    scores = score_table(DatasetItems.build(items).table, pa.array(responses))
    assert scores.per_row == 0
    assert _rows(scores) == [
        (s.status, s.extracted, s.reason)
        for s in (score_item(i, r) for i, r in zip(items, responses, strict=True))
    ]
    assert [STATUSES[c] for c in scores.status] == [
        *("correct", "incorrect", "incorrect", "incorrect"),
        *("correct", "incorrect", "incorrect", "unscored"),
    ]


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="2 items for 1 responses"):
        score_table(DatasetItems.build(EXTRA_ITEMS[:2]).table, pa.array(["A"]))


def test_processes_score_the_same_in_order() -> None:
    items, responses = _corpus(seed=1)
    table = DatasetItems.build(items).table
    column = pa.array(responses, pa.string())
    step = 1000
    batches = [
        (table.slice(start, step), column.slice(start, step))
        for start in range(0, len(items), step)
    ]
    serial = [_rows(s) for s in score_batches(batches)]
    parallel = [_rows(s) for s in score_batches(batches, processes=2)]
    assert parallel == serial
    assert sum(len(rows) for rows in serial) == len(items)
    assert np.array_equal(
        np.concatenate([s.status for s in score_batches(batches[:2])]),
        np.concatenate([s.status for s in score_batches(batches[:2], processes=2)]),
    )
