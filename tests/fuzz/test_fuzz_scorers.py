"""The scorers: any response to any item -> an ItemScore, quickly; never an exception.

Responses are random text and near-misses built from the reference (LaTeX, boxed answers,
percentages, huge exponents, power towers), the inputs most likely to hit a regex that
backtracks or a symbolic computation that explodes.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluator.datasets import load_dataset
from evaluator.scoring import score_item
from evaluator.scoring.expr import ExprError, parse_expression
from evaluator.types import DatasetItem
from tests.fuzz.conftest import FUZZ

ROOT = Path(__file__).resolve().parents[2]
ITEMS: list[DatasetItem] = [
    item
    for name in ("ipwboard-demo", "ipw-mixed")
    for item in load_dataset(ROOT / "data" / "datasets" / name / "1.jsonl").items
    if item.method != "llm_judge"
]
STATUSES = {"correct", "incorrect", "unscored"}
SLOW_S = 5.0

nasty_fragments = st.sampled_from(
    [
        "\\boxed{", "}", "\\frac{1}{", "\\sqrt{", "^", "9^9^9^9", "10^{10^{10}}", "1e999999",
        "-", "%", "(", ")" * 50, "(" * 200, "Answer: ", "The answer is ", "(A)", "B.", "**C**",
        "\\text{", "1/0", "0/0", "oo", "nan", "inf", "×", "·", "½", "٣", "１２", "\x00", "\n",
        "x", "=", ",", ".", "1,000,000", "3.14159" * 20, "e", "pi", "I", "\\left(", "\\right)",
    ]
)  # fmt: skip


@st.composite
def responses(draw: st.DrawFn, item: DatasetItem) -> str:
    kind = draw(st.sampled_from(["text", "fragments", "near"]))
    if kind == "text":
        return draw(st.text(max_size=400))
    if kind == "fragments":
        return "".join(draw(st.lists(nasty_fragments | st.text(max_size=5), max_size=40)))
    reference = item.reference or ""
    wrapper = draw(
        st.sampled_from(
            ["{}", "\\boxed{{{}}}", "The answer is {}.", "{}%", "-{}", "{}{}", "({})", "{}e308"]
        )
    )
    return wrapper.format(reference, reference)


@FUZZ
@given(data=st.data())
def test_scorers_never_raise_and_stay_fast(data: st.DataObject) -> None:
    item = data.draw(st.sampled_from(ITEMS))
    response = data.draw(responses(item))
    started = time.perf_counter()
    score = score_item(item, response)
    elapsed = time.perf_counter() - started
    assert score.status in STATUSES, score
    assert isinstance(score.reason, str)
    assert elapsed < SLOW_S, f"{item.method} took {elapsed:.1f}s on {response[:200]!r}"


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(item, id=f"{item.method}:{item.id}")
        for item in ITEMS
        if item.reference is not None
    ],
    ids=lambda item: f"{item.method}:{item.id}",
)
def test_the_reference_itself_scores_correct(item: DatasetItem) -> None:
    assert score_item(item, item.reference or "").status == "correct", item


@FUZZ
@given(st.lists(nasty_fragments | st.text(max_size=6), max_size=30).map("".join))
def test_expression_parser_only_raises_expr_error(text: str) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ExprError):
        parse_expression(text)
    assert time.perf_counter() - started < SLOW_S, text[:200]
