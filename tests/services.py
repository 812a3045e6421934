"""Start and stop throwaway processes for tests: an S3 server (moto), a Celery worker, anything.

No Django imports here: these helpers are used by fixtures in `tests/conftest.py` and by
`tests/test_services_helpers.py`, which runs without Django (`pytest -p no:django`).

Every process is started in its own process group (session) and, on exit, the whole group is
terminated: SIGTERM, then SIGKILL after a timeout. That matters for Celery's prefork pool and for
any shell wrapper, whose children would otherwise outlive the test run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (the OS picks it; tiny race until it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 30.0,
    proc: subprocess.Popen[bytes] | None = None,
) -> None:
    """Block until something accepts TCP connections on host:port.

    Raises TimeoutError after `timeout` seconds, or RuntimeError at once if `proc` (the process
    expected to listen) exits first, so a crashing server fails fast instead of timing out.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process {proc.args!r} exited with {proc.returncode} before listening on "
                f"{host}:{port}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")
        time.sleep(0.05)


def _child_env(env: Mapping[str, str | None] | None) -> dict[str, str]:
    merged = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            merged.pop(key, None)  # None unsets: e.g. DJANGO_SETTINGS_MODULE for a non-Django app
        else:
            merged[key] = value
    # Logs must reach the file as they happen: readiness checks read them.
    merged.setdefault("PYTHONUNBUFFERED", "1")
    return merged


def terminate_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process group led by `proc`; SIGKILL whatever is left after `timeout`."""
    pgid = proc.pid  # start_new_session=True made the child its own group leader
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)
    # The leader may be gone while members (pool children, a shell's background jobs) linger.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def run_process(
    argv: Sequence[str],
    env: Mapping[str, str | None] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    stop_timeout: float = 10.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` in its own process group for the duration of the `with` block.

    `env` is merged over os.environ (a None value removes that variable). stdout and stderr go (appended) to `log_path`, or are
    discarded. On exit the whole group gets SIGTERM, then SIGKILL after `stop_timeout` seconds.
    """
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")  # noqa: SIM115 - closed in finally, outlives this frame
    else:
        out = open(os.devnull, "wb")  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            list(argv),
            env=_child_env(env),
            cwd=cwd if cwd is not None else REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            terminate_group(proc, timeout=stop_timeout)
    finally:
        out.close()


def _tail(path: str | os.PathLike[str], lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_for_log(
    log_path: str | os.PathLike[str],
    needle: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    start_offset: int = 0,
) -> None:
    """Block until `needle` is in the log past `start_offset` bytes; fail fast if `proc` dies."""
    deadline = time.monotonic() + timeout
    needle_b = needle.encode()
    while True:
        with contextlib.suppress(FileNotFoundError), open(log_path, "rb") as fh:
            fh.seek(start_offset)
            if needle_b in fh.read():
                return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process exited with {proc.returncode} before logging {needle!r}; "
                f"last lines of {log_path}:\n{_tail(log_path)}"
            )
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"{needle!r} not in {log_path} after {timeout:.0f}s; last lines:\n{_tail(log_path)}"
            )
        time.sleep(0.1)


# --- S3 (moto) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotoServer:
    endpoint_url: str
    host: str
    port: int
    process: subprocess.Popen[bytes]

    # Credentials moto accepts (any); handy for boto3 clients and django-storages settings.
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = "us-east-1"


@contextlib.contextmanager
def start_moto_server(
    log_path: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 30.0,
) -> Iterator[MotoServer]:
    """A real moto S3 (and every other AWS service) over HTTP at `server.endpoint_url`.

    moto 5 ships the standalone server as `moto.server` (console script `moto_server`); running it
    with this interpreter avoids depending on the venv's bin/ being on PATH.
    """
    port = port or free_port(host)
    argv = [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]
    with run_process(argv, log_path=log_path) as proc:
        wait_for_port(host, port, timeout=timeout, proc=proc)
        yield MotoServer(endpoint_url=f"http://{host}:{port}", host=host, port=port, process=proc)


# --- Celery -------------------------------------------------------------------------------------


@contextlib.contextmanager
def start_celery_worker(
    env: Mapping[str, str | None] | None,
    queues: Sequence[str] | str,
    log_path: str | os.PathLike[str],
    *,
    app: str = "ipwboard",
    concurrency: int = 1,
    timeout: float = 60.0,
    stop_timeout: float = 20.0,
    cwd: str | os.PathLike[str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` (prefork pool) consuming `queues`; returns once it logs "ready.".

    `env` is merged over os.environ (None unsets a variable): pass the broker and, for a Django worker, the DATABASE_URL of
    the *test* database (see `database_url`), since the worker is a separate process that does not
    see pytest-django's connection swap. Tests that hand work to it need committed data
    (`transactional_db`), not the default transaction-wrapped `db`.
    """
    queue_arg = queues if isinstance(queues, str) else ",".join(queues)
    # A unique node name keeps parallel workers (a developer's `make run`, other tests) apart;
    # mingle/gossip/heartbeat only slow start-up and add cross-talk between test workers.
    node = f"test-{uuid.uuid4().hex[:8]}@%h"
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "--loglevel=info",
        "-Q",
        queue_arg,
        "-n",
        node,
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
    ]
    start_offset = Path(log_path).stat().st_size if Path(log_path).exists() else 0
    with run_process(argv, env, log_path, cwd=cwd, stop_timeout=stop_timeout) as proc:
        wait_for_log(log_path, " ready.", timeout=timeout, proc=proc, start_offset=start_offset)
        yield proc


# --- misc ---------------------------------------------------------------------------------------


def database_url(settings_dict: Mapping[str, object]) -> str:
    """A postgres:// URL for a Django connection's settings_dict (e.g. the test database's).

    Lets a fixture hand a subprocess (a Celery worker) the database pytest-django created:
    `database_url(django.db.connection.settings_dict)`.
    """
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    host = str(settings_dict.get("HOST") or "")
    port = str(settings_dict.get("PORT") or "")
    name = quote(str(settings_dict.get("NAME") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    if host.startswith("/"):
        # A unix socket directory goes in the query string; the netloc stays empty.
        return f"postgres://{auth}/{name}?host={quote(host, safe='')}" + (
            f"&port={port}" if port else ""
        )
    netloc = f"{host}:{port}" if port else host
    return f"postgres://{auth}{netloc}/{name}"
