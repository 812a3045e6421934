"""Fixtures for the fault tests: real processes (gunicorn, Celery workers, Redis, PostgreSQL,
moto) that the tests stop, kill and restart.

The pytest process only seeds and inspects the database (pytest-django's test database, committed:
``transactional_db``); uploads go over HTTP to a gunicorn subprocess and work is done by worker
subprocesses, each pointed at the same database, data directory and a throwaway Redis broker.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Persona, Signer
from tests.reliability.bundles import build_bundle, demo_dataset
from tests.reliability.servers import Redis, gunicorn, redis
from tests.services import database_url, start_celery_worker

_seeds = itertools.count(random.randrange(10**6, 10**9, 1000))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Redis]:
    with redis(tmp_path) as server:
        yield server


@pytest.fixture
def app_env(broker: Redis, settings: Any, transactional_db: None) -> dict[str, str | None]:
    """What every subprocess (web, worker) needs to share our database, files and broker."""
    from django.db import connection

    return {
        "IPWBOARD_ENV": "test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "IPWBOARD_DATA_DIR": str(settings.DATA_DIR),
        "REDIS_URL": broker.url(),
        "CELERY_BROKER_URL": None,
        "IPWBOARD_REDIS_CACHE": "0",
        "AWS_STORAGE_BUCKET_NAME": None,
    }


@pytest.fixture
def web(app_env: dict[str, str | None], tmp_path: Path) -> Iterator[str]:
    with gunicorn(app_env, tmp_path / "web.log") as url:
        yield url


WorkerFactory = Callable[..., contextlib.AbstractContextManager[Any]]


@pytest.fixture
def start_worker(app_env: dict[str, str | None], tmp_path: Path) -> WorkerFactory:
    """``with start_worker(NAME=value, ...) as proc:`` a real worker with extra environment."""
    names = itertools.count(1)

    @contextlib.contextmanager
    def start(queues: str = "validation,celery", **extra: str) -> Iterator[Any]:
        log = tmp_path / f"worker-{next(names)}.log"
        with start_celery_worker({**app_env, **extra}, queues, log) as proc:
            proc.log_path = log
            yield proc

    return start


@pytest.fixture
def bundle_factory(tmp_path: Path) -> Callable[..., Path]:
    """``bundle_factory(signer, factor=1)``: a fresh signed bundle (distinct run and digests)."""
    dataset = demo_dataset()

    def build(signer: Signer, factor: int = 1, **kwargs: Any) -> Path:
        seed = next(_seeds)
        return build_bundle(
            tmp_path / f"b-{seed}.ipwb", signer.key, dataset=dataset, seed=seed, factor=factor,
            **kwargs,
        )  # fmt: skip

    return build


def post_bundle(
    base_url: str, persona: Persona, path: Path, timeout: float = 120
) -> httpx.Response:
    with path.open("rb") as fh:
        return httpx.post(
            f"{base_url}/api/v1/submissions/",
            files={"bundle": (path.name, fh, "application/zip")},
            headers={"Authorization": f"Token {persona.token}", "Accept": "application/json"},
            timeout=timeout,
        )


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def send_task(broker_url: str, name: str, *args: Any, queue: str = "celery") -> None:
    """Publish a task by name, as beat (the sweeper) or a web process would."""
    from celery import Celery

    probe = Celery("probe", broker=broker_url)
    try:
        probe.send_task(name, args=list(args), queue=queue)
    finally:
        probe.close()


def sweep(broker_url: str) -> None:
    send_task(broker_url, "submissions.tasks.sweep_stale_submissions")


def final_status(pk: str, timeout: float = 90) -> str:
    from submissions.models import Submission

    final = {"scored", "rejected", "failed"}

    def status() -> str | None:
        value = Submission.objects.filter(pk=pk).values_list("status", flat=True).first()
        return value if value in final else None

    return str(wait_for(status, timeout, f"submission {pk} to finish", step=0.25))


def bundle_files(data_dir: Path) -> set[str]:
    root = data_dir / "media" / "bundles"
    return {p.name for p in root.glob("*")} if root.exists() else set()


def work_dirs(data_dir: Path) -> list[Path]:
    root = data_dir / "work"
    return sorted(root.glob("ipwboard-*")) if root.exists() else []


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")
