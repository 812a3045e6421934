"""LLM judge for open-ended items: pairwise comparison with the reference, in both orders.

The judge sees the question, the rubric and two unlabeled answers, one of them the reference, and
says which is better or that they tie. It is asked twice with the answers swapped (the reference
harness's pairwise judging, which cancels the judges' well-known position bias); the response counts
as correct only when **both** orders agree it is at least as good as the reference.

Verdicts are cached by (item key, sha256 of the response, judge id): re-scoring a bundle, or the
same response submitted twice, costs no second call. Only definite verdicts are cached; a failed call
(network, HTTP error, unreadable reply) makes the item ``unscored`` with the reason and is retried on
the next evaluation.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from typing import Any, NamedTuple, Protocol, runtime_checkable

import httpx

from evaluator.types import DatasetItem, ItemScore

JUDGE_PROMPT_VERSION = "pairwise-v1"
MAX_JUDGED_RESPONSE_CHARS = 12_000

SYSTEM_PROMPT = (
    "You are an impartial grader. You compare two answers to the same question and decide which one "
    "better satisfies the grading rubric. Judge correctness and completeness only; ignore length, "
    "style and formatting. Reply with exactly one token: A, B or TIE."
)
USER_TEMPLATE = """Question:
{question}

Grading rubric:
{rubric}

[Answer A]
{first}
[End of answer A]

[Answer B]
{second}
[End of answer B]

Which answer better satisfies the rubric? Reply A if answer A is better, B if answer B is better, \
or TIE if both are equally correct and complete (different wording is fine)."""
DEFAULT_RUBRIC = (
    "The answer is factually correct, addresses every part of the question, and does not "
    "contradict established facts."
)

_VERDICT = re.compile(r"\[\[\s*(A|B|TIE)\s*\]\]|^\W*(A|B|TIE)\b", re.IGNORECASE)


@runtime_checkable
class Judge(Protocol):
    """Scores an open-ended response; never raises for a bad response or a failed call."""

    judge_id: str

    def judge(self, item: DatasetItem, response: str) -> ItemScore: ...


class JudgeCacheKey(NamedTuple):
    item_key: str  # item id + a hash of what the judge sees (prompt, reference, rubric)
    response_sha256: str
    judge_id: str


class JudgeCache(Protocol):
    def get(self, key: JudgeCacheKey) -> ItemScore | None: ...

    def set(self, key: JudgeCacheKey, score: ItemScore) -> None: ...


class InMemoryJudgeCache:
    """A bounded LRU in process memory (the server plugs in a database-backed cache instead)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[JudgeCacheKey, ItemScore] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: JudgeCacheKey) -> ItemScore | None:
        with self._lock:
            score = self._data.get(key)
            if score is not None:
                self._data.move_to_end(key)
            return score

    def set(self, key: JudgeCacheKey, score: ItemScore) -> None:
        with self._lock:
            self._data[key] = score
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def cache_key(item: DatasetItem, response: str, judge_id: str) -> JudgeCacheKey:
    # Item ids are only unique within a dataset version; folding in what the judge sees keeps two
    # datasets that reuse "chat-004" for different questions from sharing verdicts.
    seen = json.dumps(
        [item.prompt, item.reference, item.params.get("rubric")], ensure_ascii=False
    ).encode()
    item_key = f"{item.id}#{hashlib.sha256(seen).hexdigest()[:16]}"
    return JudgeCacheKey(item_key, hashlib.sha256(response.encode()).hexdigest(), judge_id)


def parse_verdict(reply: str) -> str | None:
    match = _VERDICT.search(reply.strip())
    if not match:
        return None
    return (match.group(1) or match.group(2)).upper()


class JudgeCallError(Exception):
    """A judge call that produced no verdict (transport, HTTP status, malformed body)."""


class OpenAICompatibleJudge:
    """Pairwise judge over any OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        *,
        cache: JudgeCache | None = None,
        max_retries: int = 2,
        retry_backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        self.url = root + ("/chat/completions" if root.endswith("/v1") else "/v1/chat/completions")
        self.model = model
        self.judge_id = f"openai-compatible:{model}:{JUDGE_PROMPT_VERSION}"
        self.cache = cache
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self.calls = 0  # HTTP requests made (tests and operators read it)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatibleJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ask(self, item: DatasetItem, first: str, second: str) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": 8,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": USER_TEMPLATE.format(
                        question=item.prompt,
                        rubric=item.params.get("rubric") or DEFAULT_RUBRIC,
                        first=first,
                        second=second,
                    ),
                },
            ],
        }
        last_error = "no attempt made"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.retry_backoff_s * 2 ** (attempt - 1))
            self.calls += 1
            try:
                reply = self._client.post(self.url, json=body)
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            if reply.status_code == 429 or reply.status_code >= 500:
                last_error = f"HTTP {reply.status_code}"
                continue
            if reply.status_code >= 400:
                raise JudgeCallError(f"HTTP {reply.status_code}: {reply.text[:200]}")
            try:
                content = reply.json()["choices"][0]["message"]["content"]
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise JudgeCallError(f"malformed judge reply ({type(exc).__name__})") from exc
            if not isinstance(content, str):
                raise JudgeCallError("judge reply has no text content")
            return content
        raise JudgeCallError(
            f"judge unavailable after {self.max_retries + 1} attempts: {last_error}"
        )

    def judge(self, item: DatasetItem, response: str) -> ItemScore:
        if item.reference is None:
            return ItemScore("unscored", None, "the reference answer is private and not loaded")
        if not response or not response.strip():
            return ItemScore("incorrect", None, "empty response")
        key = cache_key(item, response, self.judge_id)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit
        candidate = response[:MAX_JUDGED_RESPONSE_CHARS]
        try:
            # Order 1: candidate is A; order 2: candidate is B.
            first = parse_verdict(self._ask(item, candidate, item.reference))
            second = parse_verdict(self._ask(item, item.reference, candidate))
        except JudgeCallError as exc:
            return ItemScore("unscored", None, f"judge call failed: {exc}")
        if first is None or second is None:
            return ItemScore("unscored", None, "judge reply was not A, B or TIE")
        holds_first = first in ("A", "TIE")
        holds_second = second in ("B", "TIE")
        extracted = f"candidate-first={first}, reference-first={second}"
        if holds_first and holds_second:
            score = ItemScore(
                "correct",
                extracted,
                "judge rates the response at least as good as the reference in both orders",
            )
        elif holds_first or holds_second:
            score = ItemScore(
                "incorrect",
                extracted,
                "judge verdicts disagree between the two "
                "orders (position bias); counted as incorrect",
            )
        else:
            score = ItemScore("incorrect", extracted, "judge prefers the reference in both orders")
        if self.cache is not None:
            self.cache.set(key, score)
        return score
