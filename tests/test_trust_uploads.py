"""Issue 12, finding 5: an oversized upload is refused before its body is read.

Raw sockets against the API as it is really served (gunicorn in production, Django's own server
in the embedded run): a client announces far more than the limit and sends a few bytes, and the
answer must come at once, with nothing stored. Old code read the announced body to the end first
(the client here never sends it, so the request hung until the timeout).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from submissions.models import Submission
from tests.conftest import Persona
from tests.services import database_url

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 1024 * 1024  # IPWBOARD_MAX_UPLOAD_BYTES of the servers under test
ANNOUNCED = 2_684_354_560  # 2.5 GiB, as in the issue
BOUNDARY = "ipwbBoundary7MA4YWxkTrZu0gW"
PREAMBLE = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="bundle"; filename="big.ipwb"\r\n'
    "Content-Type: application/octet-stream\r\n\r\n"
).encode()
ANSWER_WITHIN_S = 10.0


@pytest.fixture
def gunicorn_url(settings: Any, tmp_path: Path) -> Iterator[str]:
    """The API under gunicorn (what production runs), sharing our test database and data dir."""
    from django.db import connection

    from tests.reliability.servers import gunicorn

    env = {
        "IPWBOARD_ENV": "test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "IPWBOARD_DATA_DIR": str(settings.DATA_DIR),
        "IPWBOARD_MAX_UPLOAD_BYTES": str(LIMIT),
        "CELERY_BROKER_URL": "memory://",  # an accepted upload is queued nowhere
        "AWS_STORAGE_BUCKET_NAME": None,
    }
    with gunicorn(env, tmp_path / "web.log", workers=1) as url:
        yield url


@pytest.fixture
def django_server(live_server: Any, settings: Any) -> str:
    """Django's own server (the embedded run's ``runserver``), in this process."""
    settings.IPWBOARD_MAX_UPLOAD_BYTES = LIMIT
    return str(live_server.url)


def _stored_bundles(settings: Any) -> set[Path]:
    folder = Path(settings.MEDIA_ROOT) / "bundles"
    return set(folder.glob("*")) if folder.is_dir() else set()


@pytest.fixture
def nothing_stored(settings: Any) -> Iterator[None]:
    """The storage backend's bundles folder is the same after the test as before it."""
    before = _stored_bundles(settings)
    yield
    assert _stored_bundles(settings) == before


def _exchange(url: str, head: dict[str, str], body: Iterable[bytes]) -> tuple[int, dict[str, Any]]:
    """Send a request head and as much of ``body`` as the server takes, then read the answer;
    returns (status, JSON body). Fails if no answer comes within ANSWER_WITHIN_S."""
    parts = urlsplit(url)
    lines = ["POST /api/v1/submissions/ HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=ANSWER_WITHIN_S) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        with contextlib.suppress(OSError):  # the server may answer and close while we send
            for chunk in body:
                sock.sendall(chunk)
        started = time.monotonic()
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            try:
                data = sock.recv(65536)
            except TimeoutError:
                pytest.fail(f"no answer within {ANSWER_WITHIN_S} s: the server is reading the body")
            except ConnectionResetError:
                break
            if not data:
                break
            received += data
        assert time.monotonic() - started < ANSWER_WITHIN_S
    head_bytes, _, payload = received.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    return status, json.loads(payload.decode() or "{}")


def _complete(received: bytes) -> bool:
    head, _, payload = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(payload) >= int(line.split(b":", 1)[1])
    return False


def _auth(persona: Persona) -> dict[str, str]:
    return {"Authorization": f"Token {persona.token}"}


def _announce_too_much(url: str, persona: Persona) -> tuple[int, dict[str, Any]]:
    head = {
        **_auth(persona),
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(ANNOUNCED),
    }
    return _exchange(url, head, [PREAMBLE, b"PK\x03\x04" + b"\0" * 4096])


@pytest.mark.services
def test_gunicorn_refuses_an_announced_oversized_upload_before_reading_it(
    gunicorn_url: str, alice: Persona, nothing_stored: None
) -> None:
    status, body = _announce_too_much(gunicorn_url, alice)
    assert status == 413, body
    assert body["error"]["code"] == "upload.too_large"
    assert str(ANNOUNCED) in body["error"]["message"]
    assert not Submission.objects.exists()


def test_django_server_refuses_an_announced_oversized_upload_before_reading_it(
    django_server: str, alice: Persona, nothing_stored: None
) -> None:
    status, body = _announce_too_much(django_server, alice)
    assert status == 413, body
    assert body["error"]["code"] == "upload.too_large"
    assert not Submission.objects.exists()


def _chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    yield b"%x\r\n%s\r\n" % (len(PREAMBLE), PREAMBLE)
    while sent < total:
        yield b"%x\r\n%s\r\n" % (size, b"\0" * size)
        sent += size
    yield b"0\r\n\r\n"


@pytest.mark.services
def test_gunicorn_stops_a_chunked_body(
    gunicorn_url: str, alice: Persona, nothing_stored: None
) -> None:
    """No Content-Length: Django would read the body as empty ("no bundle"); it is refused for
    what it is, at once, whatever its size (4x the limit here)."""
    head = {
        **_auth(alice),
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Transfer-Encoding": "chunked",
    }
    status, body = _exchange(gunicorn_url, head, _chunked(4 * LIMIT))
    assert status == 411, body
    assert body["error"]["code"] == "upload.length_required"
    assert not Submission.objects.exists()


def test_a_file_past_the_limit_is_read_only_up_to_the_limit(
    django_server: str, alice: Persona, nothing_stored: None
) -> None:
    """Announced within the multipart allowance, but the file itself is over the limit: the
    upload handler stops reading there; 413, nothing stored."""
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    data = b"PK\x03\x04" + b"\0" * (LIMIT + 16 * 1024)
    body = PREAMBLE + data + tail
    head = {
        **_auth(alice),
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(body)),
    }
    status, answer = _exchange(django_server, head, [body])
    assert status == 413, answer
    assert answer["error"]["code"] == "upload.too_large"
    assert not Submission.objects.exists()


@pytest.mark.services
def test_gunicorn_still_takes_a_bundle_within_the_limit(
    gunicorn_url: str, alice: Persona, alice_key: Any, demo_version: Any, make_bundle: Any
) -> None:
    import httpx

    path = make_bundle(demo_version, alice_key)
    assert path.stat().st_size < LIMIT
    with path.open("rb") as fh:
        response = httpx.post(
            gunicorn_url + "/api/v1/submissions/",
            headers=_auth(alice),
            files={"bundle": ("b.ipwb", fh)},
            timeout=60,
        )
    assert response.status_code == 201, response.text
