"""The pairwise LLM judge against a tiny local OpenAI-compatible server (never the network)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from evaluator.scoring import (
    InMemoryJudgeCache,
    Judge,
    OpenAICompatibleJudge,
    score_item,
)
from evaluator.scoring.judge import cache_key, parse_verdict
from evaluator.types import DatasetItem

ITEM = DatasetItem(
    "chat-004",
    "What are two ways to sleep better?",
    "Keep a regular schedule and avoid late caffeine.",
    "health",
    "llm_judge",
    {"rubric": "Mentions a regular schedule and caffeine."},
)
GOOD = "Go to bed at the same time every day and skip coffee after lunch."
BAD = "Eat a large meal right before bed."


class JudgeServer:
    """Behaviour per mode: "fair" (prefers answers mentioning bed-time and coffee, ties when both
    are fine), "first" (always A: pure position bias), "error" (HTTP 500), "garbage" (unparseable)."""

    def __init__(self) -> None:
        self.mode = "fair"
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body})
                server.auth.append(self.headers.get("Authorization"))
                if server.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"boom")
                    return
                verdict = server.verdict(body["messages"][-1]["content"])
                payload = {"choices": [{"message": {"role": "assistant", "content": verdict}}]}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def verdict(self, prompt: str) -> str:
        if self.mode == "first":
            return "A"
        if self.mode == "garbage":
            return "Both answers have merit."
        a = re.search(r"\[Answer A\]\n(.*?)\n\[End of answer A\]", prompt, re.S).group(1)  # type: ignore[union-attr]
        b = re.search(r"\[Answer B\]\n(.*?)\n\[End of answer B\]", prompt, re.S).group(1)  # type: ignore[union-attr]

        def good(text: str) -> bool:
            low = text.lower()
            return ("schedule" in low or "same time" in low) and (
                "caffeine" in low or "coffee" in low
            )

        if good(a) and good(b):
            return "TIE"
        return "A" if good(a) else "B"


@pytest.fixture
def server() -> Iterator[JudgeServer]:
    srv = JudgeServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def make_judge(server: JudgeServer, **kwargs: Any) -> OpenAICompatibleJudge:
    kwargs.setdefault("retry_backoff_s", 0.0)
    return OpenAICompatibleJudge(server.url, "judge-model", "sk-test", 5.0, **kwargs)


def test_is_a_judge(server: JudgeServer) -> None:
    with make_judge(server) as judge:
        assert isinstance(judge, Judge)
        assert judge.judge_id == "openai-compatible:judge-model:pairwise-v1"


def test_correct_needs_both_orders(server: JudgeServer) -> None:
    with make_judge(server) as judge:
        score = score_item(ITEM, GOOD, judge)
    assert score.status == "correct"
    assert score.extracted == "candidate-first=TIE, reference-first=TIE"
    assert len(server.requests) == 2
    first, second = (r["body"]["messages"][-1]["content"] for r in server.requests)
    # Order 1 puts the response first, order 2 the reference first.
    assert first.index(GOOD) < first.index(ITEM.reference or "")
    assert second.index(ITEM.reference or "") < second.index(GOOD)
    assert all(r["path"] == "/v1/chat/completions" for r in server.requests)
    assert server.requests[0]["body"]["model"] == "judge-model"
    assert server.auth[0] == "Bearer sk-test"


def test_wrong_answer_is_incorrect(server: JudgeServer) -> None:
    with make_judge(server) as judge:
        score = score_item(ITEM, BAD, judge)
    assert score.status == "incorrect"
    assert "both orders" in score.reason


def test_position_bias_is_not_credited(server: JudgeServer) -> None:
    server.mode = "first"
    with make_judge(server) as judge:
        score = score_item(ITEM, BAD, judge)
    assert score.status == "incorrect"
    assert "disagree" in score.reason


def test_cache_hit_avoids_http_calls(server: JudgeServer) -> None:
    cache = InMemoryJudgeCache()
    with make_judge(server, cache=cache) as judge:
        first = judge.judge(ITEM, GOOD)
        assert len(server.requests) == 2
        again = judge.judge(ITEM, GOOD)
        assert again == first
        assert len(server.requests) == 2  # served from the cache
        judge.judge(ITEM, GOOD + " ")  # a different response is a different key
        assert len(server.requests) == 4
    # A second judge instance sharing the cache (another worker) also hits it.
    with make_judge(server, cache=cache) as other:
        assert other.judge(ITEM, GOOD) == first
    assert len(server.requests) == 4
    assert cache_key(ITEM, GOOD, "j") != cache_key(
        DatasetItem("chat-004", "another question", "x", "d", "llm_judge", {}), GOOD, "j"
    )


def test_server_error_is_unscored_not_a_crash(server: JudgeServer) -> None:
    server.mode = "error"
    cache = InMemoryJudgeCache()
    with make_judge(server, cache=cache, max_retries=1) as judge:
        score = score_item(ITEM, GOOD, judge)
    assert score.status == "unscored"
    assert "HTTP 500" in score.reason
    assert len(server.requests) == 2  # one try + one retry, then give up
    assert len(cache) == 0  # failures are not cached: the next evaluation tries again


def test_unreadable_verdict_is_unscored(server: JudgeServer) -> None:
    server.mode = "garbage"
    with make_judge(server) as judge:
        score = score_item(ITEM, GOOD, judge)
    assert score.status == "unscored"
    assert "not A, B or TIE" in score.reason


def test_unreachable_judge_is_unscored() -> None:
    # A port nobody listens on: bind, read the port, close.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    judge = OpenAICompatibleJudge(f"http://127.0.0.1:{port}/v1", "m", None, 1.0, max_retries=0)
    score = judge.judge(ITEM, GOOD)
    judge.close()
    assert score.status == "unscored"
    assert "judge call failed" in score.reason


def test_no_judge_and_empty_response() -> None:
    assert score_item(ITEM, GOOD).reason == "no judge configured"
    judge = OpenAICompatibleJudge("http://127.0.0.1:9", "m")  # never called
    assert judge.judge(ITEM, "  ").status == "incorrect"
    private = DatasetItem("x", "q", None, "d", "llm_judge", {})
    assert judge.judge(private, GOOD).status == "unscored"
    assert judge.calls == 0
    judge.close()


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [("A", "A"), ("b", "B"), ("TIE", "TIE"), ("[[B]]", "B"), ("**A**", "A"), ("Tie.", "TIE"),
     ("I think [[A]] is better", "A"), ("Neither", None), ("", None)],
)  # fmt: skip
def test_parse_verdict(reply: str, verdict: str | None) -> None:
    assert parse_verdict(reply) == verdict
