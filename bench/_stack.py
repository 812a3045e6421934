"""A whole IPW Board stack on loopback for the load scripts: throwaway PostgreSQL and Redis,
migrations, Celery workers, gunicorn, plus signed bundles and latency statistics.

Nothing here touches the machine's shared PostgreSQL (5432) or Redis (6379): every server runs on
a free port from a temporary directory and is stopped on exit (the helpers live in
``tests/services.py`` and ``tests/reliability/servers.py``, which import no Django).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.reliability.servers import gunicorn, manage, postgres, redis  # noqa: E402
from tests.services import start_celery_worker  # noqa: E402


@dataclass
class Stack:
    env: dict[str, str]
    url: str
    workdir: Path
    worker_pids: list[int]  # each Celery worker's main process (its pool processes are children)


@contextlib.contextmanager
def stack(
    *,
    web_workers: int,
    web_threads: int,
    worker_processes: int,
    worker_concurrency: int = 1,
    seed_demo: bool = True,
    board_refresh_s: int = 5,
) -> Iterator[Stack]:
    """PostgreSQL + Redis + migrate (+ the demo board) + workers + gunicorn, all throwaway.

    Configured as production is (the test profile's other defaults aside): Redis as the cache and
    ``board_refresh_s`` as IPWBOARD_BOARD_REFRESH_SECONDS (production's default is 5).
    """
    workdir = Path(tempfile.mkdtemp(prefix="ipwb-bench."))
    try:
        with contextlib.ExitStack() as ctx:
            pg = ctx.enter_context(postgres())
            broker = ctx.enter_context(redis(workdir))
            env = {
                "IPWBOARD_ENV": "test",  # production minus TLS/secrets; DEBUG stays off
                "DJANGO_SETTINGS_MODULE": "ipwboard.settings",
                "DATABASE_URL": pg.url,
                "REDIS_URL": broker.url(0),
                "IPWBOARD_REDIS_CACHE": "1",  # what production uses: the board's page cache
                "IPWBOARD_BOARD_REFRESH_SECONDS": str(board_refresh_s),
                "IPWBOARD_DATA_DIR": str(workdir / "data"),
                "DJANGO_LOG_LEVEL": "WARNING",
            }
            os.environ.pop("CELERY_BROKER_URL", None)
            log(f"PostgreSQL {pg.url}, Redis {broker.url(0)}, data in {workdir}")
            manage(env, "migrate", "--noinput")
            workers = [
                ctx.enter_context(
                    start_celery_worker(
                        env,
                        ["validation", "scoring", "exports", "celery"],
                        workdir / f"worker-{n}.log",
                        concurrency=worker_concurrency,
                    )
                ).pid
                for n in range(worker_processes)
            ]
            if seed_demo:
                log("seeding the demo board through the real pipeline (seed_demo)")
                manage(env, "seed_demo", "--timeout", "300")
            url = ctx.enter_context(
                gunicorn(env, workdir / "web.log", workers=web_workers, threads=web_threads)
            )
            log(f"gunicorn {url}: {web_workers} workers x {web_threads} threads")
            yield Stack(env, url, workdir, workers)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def submitter(env: dict[str, str], username: str) -> tuple[str, bytes]:
    """A user with a submit token and a registered key: (token, private key PEM)."""
    return submitters(env, [username])[0]


_SEED_MANY = """
import json
from django.contrib.auth import get_user_model
from submissions import services
out = []
for username, public in json.loads({people!r}):
    user, _ = get_user_model().objects.get_or_create(username=username)
    _, token = services.create_api_token(user, "load test")
    services.register_signing_key(user, public, "load test")
    out.append(token)
print("TOKENS=" + json.dumps(out))
"""


def submitters(env: dict[str, str], usernames: Sequence[str]) -> list[tuple[str, bytes]]:
    """Users with a submit token and a registered key each, in one manage.py call."""
    import json

    from cryptography.hazmat.primitives import serialization

    from evaluator.keys import encode_public_key, generate_private_key, public_key_bytes

    keys = [generate_private_key() for _ in usernames]
    people = [
        (name, encode_public_key(public_key_bytes(key)))
        for name, key in zip(usernames, keys, strict=True)
    ]
    out = manage(env, "shell", "-c", _SEED_MANY.format(people=json.dumps(people)))
    tokens = json.loads(next(line[7:] for line in out.splitlines() if line.startswith("TOKENS=")))
    pems = [
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        for key in keys
    ]
    return list(zip(tokens, pems, strict=True))


def _build(args: tuple[Path, bytes, int]) -> Path:
    out, pem, seed_ = args
    from cryptography.hazmat.primitives import serialization

    from submissions import demo
    from tests.reliability.bundles import build_bundle, demo_dataset

    key = serialization.load_pem_private_key(pem, password=None)
    models = [m.id for m in demo.MODELS]
    hardware = [h.label for h in demo.HARDWARE]
    return build_bundle(
        out,
        key,
        dataset=demo_dataset(),
        seed=seed_,
        model=models[seed_ % len(models)],
        hardware=hardware[(seed_ // len(models)) % len(hardware)],
    )


def build_bundles(directory: Path, pem: bytes, count: int, first_seed: int) -> list[Path]:
    """``count`` distinct signed bundles (distinct runs, digests and members), built in parallel."""
    return build_piles([(directory, pem, count, first_seed)])[0]


def build_piles(specs: Sequence[tuple[Path, bytes, int, int]]) -> list[list[Path]]:
    """One pile of bundles per (directory, key PEM, count, first seed), in one process pool."""
    jobs = []
    for directory, pem, count, first_seed in specs:
        directory.mkdir(parents=True, exist_ok=True)
        jobs += [(directory / f"b{i:05d}.ipwb", pem, first_seed + i) for i in range(count)]
    with ProcessPoolExecutor(max(1, (os.cpu_count() or 2))) as pool:
        built = list(pool.map(_build, jobs, chunksize=8))
    piles, at = [], 0
    for _, _, count, _ in specs:
        piles.append(built[at : at + count])
        at += count
    return piles


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def log(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def count_rows(env: dict[str, str], sql: str) -> Any:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as conn:
        return conn.execute(sql).fetchall()
