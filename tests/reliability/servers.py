"""Throwaway PostgreSQL and Redis servers the fault tests may stop and restart, and a gunicorn.

The machine's shared PostgreSQL (5432) and Redis (6379) are never touched: every server here runs
on a free port from a temporary directory and is stopped when its context exits. PostgreSQL is
started like ``scripts/lib.sh start_postgres`` does (same flags, as the ``postgres`` OS user when we
are root, since PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.services import REPO_ROOT, free_port, run_process, terminate_group, wait_for_port

LIB = REPO_ROOT / "scripts" / "lib.sh"


def _lib(function: str, *args: str) -> str:
    """Run a helper from scripts/lib.sh and return its stdout."""
    return subprocess.run(
        ["bash", str(LIB), function, *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class Postgres:
    """A PostgreSQL cluster in ``root``; ``stop``/``start`` keep the data and the port."""

    root: Path
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.bindir = Path(_lib("pg_bindir"))
        self.user = "postgres" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
        self.pgdir = self.root / "pg"
        self.pgdir.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        if os.getuid() == 0:
            shutil.chown(self.pgdir, self.user)
        self._as_pg(
            "initdb", "-D", str(self.pgdir / "data"), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def _as_pg(self, tool: str, *args: str) -> None:
        argv = [str(self.bindir / tool), *args]
        if os.getuid() == 0:
            argv = ["runuser", "-u", self.user, "--", *argv]
        subprocess.run(argv, check=True, cwd=self.pgdir, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.pgdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._as_pg(
            "pg_ctl", "-D", str(self.pgdir / "data"), "-l", str(self.pgdir / "postgres.log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast`` disconnects every client and shuts down cleanly; ``immediate`` is a crash."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_pg("pg_ctl", "-D", str(self.pgdir / "data"), "-m", mode, "-w", "stop")


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    """A fresh cluster in its own directory under /tmp: as root, the ``postgres`` user must be
    able to traverse every parent, which pytest's private tmp_path does not allow."""
    root = Path(tempfile.mkdtemp(prefix="ipwb-faults-pg."))
    try:
        server = Postgres(root)
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Redis:
    """A redis-server on a fixed free port; ``stop`` kills it, ``start`` brings it back."""

    root: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _ctx: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        argv = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.root),
        ]  # fmt: skip
        self.proc = self._ctx.enter_context(run_process(argv, log_path=self.root / "redis.log"))
        wait_for_port("127.0.0.1", self.port, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            terminate_group(self.proc, timeout=5)
        self._ctx.close()
        self._ctx = contextlib.ExitStack()
        self.proc = None


@contextlib.contextmanager
def redis(root: Path) -> Iterator[Redis]:
    server = Redis(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def gunicorn(
    env: Mapping[str, str | None],
    log_path: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    port: int | None = None,
) -> Iterator[str]:
    """The WSGI app under gunicorn (what production runs); yields its base URL."""
    port = port or free_port()
    argv = [
        sys.executable, "-m", "gunicorn", "ipwboard.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--timeout", "120", "--graceful-timeout", "5",
    ]  # fmt: skip
    with run_process(argv, env, log_path) as proc:
        wait_for_port("127.0.0.1", port, timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}"


def manage(env: Mapping[str, str], *args: str) -> str:
    """Run ``manage.py`` with ``env`` merged over ours; returns stdout, raises on failure."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


SEED = """
import json, sys
from django.contrib.auth import get_user_model
from submissions import services
from submissions.models import DatasetVersion
user, _ = get_user_model().objects.get_or_create(username={username!r})
_, token = services.create_api_token(user, "fault tests")
services.register_signing_key(user, {public!r}, "fault tests")
if not DatasetVersion.objects.exists():
    services.register_dataset_version(__import__("pathlib").Path({dataset!r}), name="demo", license="CC0-1.0")
print("TOKEN=" + token)
"""


def seed(env: Mapping[str, str], username: str, public_key: str) -> str:
    """Create a user with a submit token and a registered key (and the demo dataset) in the
    database ``env`` points at; returns the token."""
    dataset = REPO_ROOT / "data" / "datasets" / "ipwboard-demo" / "1.jsonl"
    code = SEED.format(username=username, public=public_key, dataset=str(dataset))
    out = manage(env, "shell", "-c", code)
    return next(line[6:] for line in out.splitlines() if line.startswith("TOKEN="))
