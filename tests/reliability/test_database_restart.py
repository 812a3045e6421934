"""PostgreSQL restarted in the middle of a burst of uploads.

Everything runs against a throwaway cluster of our own (never the machine's shared one): migrate,
seed, gunicorn, then six uploaders while the database is stopped and started again. Every upload
answered 201 must exist afterwards; every other answer must be a JSON 503 the client can retry;
retrying (what the CLI should do) ends with every bundle stored exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import make_signer
from tests.reliability.bundles import build_bundle, demo_dataset, sha256
from tests.reliability.servers import Postgres, Redis, gunicorn, manage, postgres, redis, seed

pytestmark = pytest.mark.services

UPLOADS = 36
UPLOADERS = 6
RETRIES = 8


@dataclass
class Outcome:
    path: Path
    status: int | None  # None: no HTTP answer at all (connection refused/reset)
    content_type: str = ""
    body: Any = None
    attempts: int = 1


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Postgres, Redis, dict[str, str]]]:
    with postgres() as pg, redis(tmp_path) as broker:
        env = {
            "IPWBOARD_ENV": "test",
            "DATABASE_URL": pg.url,
            "IPWBOARD_DATA_DIR": str(tmp_path / "data"),
            "REDIS_URL": broker.url(),
            "IPWBOARD_REDIS_CACHE": "0",
        }
        manage(env, "migrate", "--noinput")
        yield pg, broker, env


def _post(url: str, token: str, path: Path) -> Outcome:
    try:
        with path.open("rb") as fh:
            response = httpx.post(
                f"{url}/api/v1/submissions/",
                files={"bundle": (path.name, fh, "application/zip")},
                headers={"Authorization": f"Token {token}", "Accept": "application/json"},
                timeout=60,
            )
    except httpx.TransportError:
        return Outcome(path, None)
    content_type = response.headers.get("content-type", "")
    body = response.json() if content_type.startswith("application/json") else response.text
    return Outcome(path, response.status_code, content_type, body)


def test_uploads_survive_a_database_restart(
    stack: tuple[Postgres, Redis, dict[str, str]], tmp_path: Path
) -> None:
    pg, _, env = stack
    signer = make_signer()
    token = seed(env, "dana", signer.public)
    dataset = demo_dataset()
    bundles = [
        build_bundle(tmp_path / f"b{i}.ipwb", signer.key, dataset=dataset, seed=9100 + i)
        for i in range(UPLOADS)
    ]

    done = threading.Semaphore(0)
    restarted = threading.Event()

    def restart() -> None:
        for _ in range(UPLOADS // 4):  # a quarter of the burst gets through first
            done.acquire()
        pg.stop("fast")  # terminates every backend: in-flight queries fail
        time.sleep(2.0)  # uploads keep arriving while it is down
        pg.start()
        restarted.set()

    def upload(path: Path) -> Outcome:
        outcome = _post(url, token, path)
        done.release()
        return outcome

    with gunicorn(env, tmp_path / "web.log") as url:
        restarter = threading.Thread(target=restart)
        restarter.start()
        with ThreadPoolExecutor(UPLOADERS) as pool:
            outcomes = list(pool.map(upload, bundles))
        restarter.join(60)
        assert restarted.is_set()

        accepted = [o for o in outcomes if o.status == 201]
        failed = [o for o in outcomes if o.status != 201]
        print(f"\n{len(accepted)} accepted, {len(failed)} refused during the restart")
        assert failed, "the restart hit no upload: the test proves nothing"
        for outcome in failed:
            # A clear, retryable error: JSON 503 with a code, never an HTML 500.
            assert outcome.status == 503, (outcome.status, outcome.body)
            assert outcome.content_type.startswith("application/json")
            assert outcome.body["error"]["code"] == "service.unavailable"

        # What the CLI should do on 503 / connection errors: retry with a backoff.
        for outcome in failed:
            for attempt in range(2, RETRIES + 1):
                retry = _post(url, token, outcome.path)
                outcome.status, outcome.body, outcome.attempts = retry.status, retry.body, attempt
                if retry.status not in (None, 503):
                    break
                time.sleep(0.5)
            # 201, or 409 when the first try was committed but its answer lost (then it names
            # the existing submission).
            assert outcome.status in (201, 409), (outcome.status, outcome.body)

    with psycopg.connect(pg.url) as conn:
        rows = conn.execute("select id::text, bundle_sha256 from submissions_submission").fetchall()
    stored = {pk: sha for pk, sha in rows}
    for outcome in accepted:
        assert outcome.body["id"] in stored, "an upload answered 201 was lost"
    assert sorted(stored.values()) == sorted(sha256(path) for path in bundles), (
        "every bundle stored exactly once"
    )
    files = {p.name for p in (tmp_path / "data" / "media" / "bundles").iterdir()}
    assert {f"{pk}.ipwb" for pk in stored} <= files
