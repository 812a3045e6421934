"""The CLI's retries, against a scripted HTTP server on loopback (no Django, no database): 503 and
429 with Retry-After, a lost response whose retry is refused as a replay, and giving up."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from submissions.cli import client as client_module
from submissions.cli.client import ApiClient, CliError
from submissions.cli.main import main
from submissions.cli.output import Output
from submissions.cli.upload import streamed_upload

BUNDLE = b"PK\x03\x04" + bytes(range(256)) * 64  # 16 KiB: read by httpx in several chunks
SUBMISSION_ID = str(uuid.uuid4())
CREATED = {"id": SUBMISSION_ID, "status": "queued", "permalink": f"/s/{SUBMISSION_ID}"}

# A step answers one request: (status, headers, JSON body), or DROP to close the connection
# without answering (after reading the whole request: "the server committed, the reply was lost").
DROP = None
Step = tuple[int, dict[str, str], Any] | None


class Scripted:
    """Requests are answered from ``script`` in order (the last step repeats)."""

    def __init__(self, script: list[Step]) -> None:
        self.script = list(script)
        self.requests: list[tuple[str, str, bytes]] = []
        self.url = ""

    def next_step(self) -> Step:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def uploads(self) -> list[bytes]:
        return [body for method, path, body in self.requests if method == "POST"]


@pytest.fixture
def serve() -> Iterator[Callable[[list[Step]], Scripted]]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: list[Step]) -> Scripted:
        state = Scripted(script)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest's output clean
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                state.requests.append((self.command, self.path, body))
                if self.command == "GET" and self.path.startswith("/api/v1/submissions/"):
                    step: Step = (200, {}, {**CREATED, "fetched": True})
                else:
                    step = state.next_step()
                if step is DROP:
                    self.close_connection = True
                    self.connection.close()
                    return
                status, headers, payload = step
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _answer

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        state.url = f"http://127.0.0.1:{server.server_port}"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def unavailable(retry_after: str = "3") -> Step:
    body = {"error": {"code": "storage.unavailable", "message": "File storage is unavailable."}}
    return (503, {"Retry-After": retry_after}, body)


def replay(submission_id: str | None = SUBMISSION_ID) -> Step:
    error: dict[str, Any] = {"code": "bundle.replay.bundle", "message": "Already submitted."}
    if submission_id:
        error["submission_id"] = submission_id
    return (409, {}, {"error": error})


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    path = tmp_path / "run.ipwb"
    path.write_bytes(BUNDLE)
    return path


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.notes: list[str] = []


def make_client(url: str, rec: Recorder, **kw: Any) -> ApiClient:
    return ApiClient(url, "ipwb_test", sleep=rec.sleeps.append, notify=rec.notes.append, **kw)


def test_upload_retries_503_then_succeeds_resending_the_whole_file(
    serve: Any, bundle: Path
) -> None:
    server = serve([unavailable("3"), unavailable("3"), (201, {}, CREATED)])
    rec = Recorder()
    # Through `submit`'s own path: the progress wrapper is rebuilt on every attempt.
    result = streamed_upload(make_client(server.url, rec), bundle, Output(json_mode=True))
    assert result == CREATED
    assert rec.sleeps == [3, 4]  # max(Retry-After, 2**attempt)
    assert rec.notes == [
        "retrying in 3 s (HTTP 503 storage.unavailable)",
        "retrying in 4 s (HTTP 503 storage.unavailable)",
    ]
    uploads = server.uploads()
    assert len(uploads) == 3 and all(BUNDLE in body for body in uploads)


def test_wait_honours_retry_after_but_is_capped(serve: Any, bundle: Path) -> None:
    server = serve(
        [
            (429, {"Retry-After": "120"}, {"error": {"code": "rate_limited"}}),
            unavailable("0"),
            (201, {}, CREATED),
        ]
    )
    rec = Recorder()
    assert make_client(server.url, rec).upload(bundle) == CREATED
    assert rec.sleeps == [30, 4]


def test_lost_response_then_replay_is_the_same_submission(serve: Any, bundle: Path) -> None:
    """Attempt 1 is stored but the connection drops before the reply; attempt 2 is refused as a
    replay naming that submission: the upload succeeded, and the CLI says so."""
    server = serve([DROP, replay()])
    rec = Recorder()
    result = make_client(server.url, rec).upload(bundle)
    assert result["id"] == SUBMISSION_ID and result["fetched"] is True
    assert rec.notes == ["retrying in 2 s (RemoteProtocolError)"]
    assert server.requests[-1][:2] == ("GET", f"/api/v1/submissions/{SUBMISSION_ID}/")
    assert len(server.uploads()) == 2 and all(BUNDLE in body for body in server.uploads())


def test_lost_response_as_503_then_replay(serve: Any, bundle: Path) -> None:
    server = serve([unavailable("1"), replay()])
    assert make_client(server.url, Recorder()).upload(bundle)["id"] == SUBMISSION_ID


def test_replay_on_the_first_attempt_is_an_error(serve: Any, bundle: Path) -> None:
    """Without a failed attempt before it, a 409 is a real duplicate: the user is told."""
    server = serve([replay()])
    with pytest.raises(CliError) as caught:
        make_client(server.url, Recorder()).upload(bundle)
    assert caught.value.code == "bundle.replay.bundle" and caught.value.exit_code == 2
    assert len(server.requests) == 1


def test_replay_without_an_id_on_retry_is_an_error(serve: Any, bundle: Path) -> None:
    server = serve([unavailable("1"), replay(None)])
    with pytest.raises(CliError) as caught:
        make_client(server.url, Recorder()).upload(bundle)
    assert caught.value.code == "bundle.replay.bundle"


def test_plain_posts_are_not_resent_once_they_may_have_arrived(serve: Any) -> None:
    """A second challenge or token is not harmless: a dropped reply is reported, not re-sent."""
    server = serve([DROP, (201, {}, {"nonce": "x"})])
    with pytest.raises(CliError) as caught:
        make_client(server.url, Recorder()).post("challenges/")
    assert caught.value.exit_code == 3 and len(server.requests) == 1
    # ... but a 503 means the server did nothing: that is retried.
    server = serve([unavailable("1"), (201, {}, {"nonce": "x"})])
    assert make_client(server.url, Recorder()).post("challenges/") == {"nonce": "x"}


def test_unreachable_server_is_retried_then_reported(tmp_path: Path) -> None:
    from tests.services import free_port

    rec = Recorder()
    client = make_client(f"http://127.0.0.1:{free_port()}", rec, attempts=3)
    with pytest.raises(CliError) as caught:
        client.get("keys/")
    assert caught.value.code == "network.unreachable" and caught.value.exit_code == 3
    assert "gave up after 3 attempts" in caught.value.message
    assert rec.sleeps == [2, 4]


@pytest.fixture
def fake_sleep(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[float]:
    sleeps: list[float] = []
    monkeypatch.setattr(client_module, "_sleep", sleeps.append)
    monkeypatch.setenv("IPWBOARD_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("IPWBOARD_TOKEN", raising=False)
    monkeypatch.delenv("IPWBOARD_RETRY_ATTEMPTS", raising=False)
    return sleeps


def test_submit_gives_up_with_exit_code_3(
    serve: Any, bundle: Path, fake_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve([unavailable("1")])
    argv = ["submit", str(bundle), "--via", "api", "--server", server.url, "--token", "t"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert fake_sleep == [2, 4, 8, 16]
    assert (
        err.count("retrying in") == 4 and "retrying in 16 s (HTTP 503 storage.unavailable)" in err
    )
    assert "error [storage.unavailable]" in err and "gave up after 5 attempts" in err
    assert len(server.uploads()) == 5

    # --json: stderr holds only the final error object.
    assert main([*argv, "--json"]) == 3
    err = capsys.readouterr().err
    assert json.loads(err)["error"]["code"] == "storage.unavailable"


def test_submit_reports_the_recovered_submission(
    serve: Any, bundle: Path, fake_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    server = serve([DROP, replay()])
    argv = ["submit", str(bundle), "--via", "api", "--server", server.url, "--token", "t"]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == SUBMISSION_ID
    assert fake_sleep == [2]


def test_retry_attempts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPWBOARD_RETRY_ATTEMPTS", "1")
    assert ApiClient("http://x").attempts == 1
    monkeypatch.setenv("IPWBOARD_RETRY_ATTEMPTS", "nope")
    assert ApiClient("http://x").attempts == 5
