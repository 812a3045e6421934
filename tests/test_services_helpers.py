"""Tests for tests/services.py. No Django and no database: they also run with `-p no:django`."""

from __future__ import annotations

import importlib.util
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.services import (
    database_url,
    free_port,
    run_process,
    start_celery_worker,
    start_moto_server,
    wait_for_port,
)


def _alive(pid: int) -> bool:
    """True if pid runs and is not a zombie (an unreaped corpse still answers kill(pid, 0))."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for_file(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and (text := path.read_text().strip()):
            return text
        time.sleep(0.05)
    raise TimeoutError(f"{path} not written after {timeout}s")


def _wait_until_dead(pids: list[int], timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_for_port_returns_once_listening_and_times_out_otherwise() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        wait_for_port("127.0.0.1", sock.getsockname()[1], timeout=2)
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", free_port(), timeout=0.3)


def test_wait_for_port_fails_fast_when_the_process_dies(tmp_path: Path) -> None:
    with run_process([sys.executable, "-c", "raise SystemExit(3)"]) as proc:
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="exited with 3"):
            wait_for_port("127.0.0.1", free_port(), timeout=30, proc=proc)
        assert time.monotonic() - start < 10


def test_run_process_logs_and_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile, log = tmp_path / "child.pid", tmp_path / "out.log"
    script = f"echo hello from $$; sleep 300 & echo $! > {pidfile}; wait"
    with run_process(["bash", "-c", script], {"IPW_PROBE": "1"}, log) as proc:
        child = int(_wait_for_file(pidfile))
        assert _alive(proc.pid) and _alive(child)
    assert proc.poll() is not None
    assert _wait_until_dead([child]) == []
    assert f"hello from {proc.pid}" in log.read_text()


def test_run_process_sigkills_what_ignores_sigterm(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # `trap "" TERM` is inherited by the background sleep: both ignore SIGTERM.
    script = f'trap "" TERM; sleep 300 & echo $! > {pidfile}; while :; do sleep 0.1; done'
    start = time.monotonic()
    with run_process(["bash", "-c", script], stop_timeout=1) as proc:
        child = int(_wait_for_file(pidfile))
    assert time.monotonic() - start >= 1
    assert proc.returncode == -9
    assert _wait_until_dead([proc.pid, child]) == []


def test_run_process_passes_and_unsets_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPW_GONE", "still here")
    log = tmp_path / "env.log"
    code = "import os; print(os.environ['IPW_PROBE'], os.environ.get('IPW_GONE', 'unset'))"
    with run_process([sys.executable, "-c", code], {"IPW_PROBE": "42", "IPW_GONE": None}, log) as p:
        p.wait(timeout=30)
    assert log.read_text().strip() == "42 unset"


@pytest.mark.services
def test_moto_server_serves_s3_over_http(tmp_path: Path) -> None:
    boto3 = pytest.importorskip("boto3")
    with start_moto_server(log_path=tmp_path / "moto.log") as server:
        s3 = boto3.client(
            "s3",
            endpoint_url=server.endpoint_url,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name=server.region,
        )
        s3.create_bucket(Bucket="bundles")
        s3.put_object(Bucket="bundles", Key="a/b.ipwb", Body=b"\x00signed bundle\xff")
        got = s3.get_object(Bucket="bundles", Key="a/b.ipwb")["Body"].read()
        assert got == b"\x00signed bundle\xff"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="bundles")["Contents"]] == ["a/b.ipwb"]
        proc = server.process
    assert proc.poll() is not None
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1).close()


# A Celery app with no Django and no server: kombu's filesystem transport in a temp dir.
TINY_APP = """
import os
from pathlib import Path
from celery import Celery

BASE = Path(os.environ["TINY_DIR"])
app = Celery("tinyapp", broker="filesystem://")
app.conf.broker_transport_options = {
    "data_folder_in": str(BASE / "queue"),
    "data_folder_out": str(BASE / "queue"),
    "store_processed": False,
    # kombu's default is ./control, relative to whatever the cwd is: keep it in the temp dir.
    "control_folder": str(BASE / "control"),
}
app.conf.task_default_queue = "tiny"

@app.task(name="tinyapp.touch")
def touch(name):
    (BASE / name).write_text(str(os.getpid()))
"""


@pytest.mark.services
def test_celery_worker_starts_runs_a_task_and_stops(tmp_path: Path) -> None:
    pytest.importorskip("celery")
    (tmp_path / "queue").mkdir()
    (tmp_path / "tinyapp.py").write_text(TINY_APP)
    # pytest-django exports DJANGO_SETTINGS_MODULE; with it set, Celery's Django fix-up would set
    # up the project in the worker. This app has nothing to do with Django: unset it.
    env = {"TINY_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": None}
    log = tmp_path / "worker.log"
    with start_celery_worker(env, ["tiny"], log, app="tinyapp", cwd=tmp_path) as worker:
        assert " ready." in log.read_text()
        # Send from this process with an identical app (same folders, same queue).
        spec = importlib.util.spec_from_file_location("tinyapp_client", tmp_path / "tinyapp.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TINY_DIR", str(tmp_path))
            mp.delenv("DJANGO_SETTINGS_MODULE", raising=False)
            spec.loader.exec_module(module)
        module.app.send_task("tinyapp.touch", args=["marker"], queue="tiny")
        task_pid = int(_wait_for_file(tmp_path / "marker", timeout=30))
        # prefork: the task ran in a pool child, not in the main worker process.
        assert task_pid != worker.pid
        assert _alive(task_pid)
    assert worker.poll() is not None
    assert _wait_until_dead([task_pid]) == []


def test_database_url_from_django_settings_dict() -> None:
    assert (
        database_url(
            {
                "NAME": "test_postgres",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": 5433,
                "PASSWORD": "",
            }
        )
        == "postgres://postgres@127.0.0.1:5433/test_postgres"
    )
    assert (
        database_url({"NAME": "db", "USER": "u", "PASSWORD": "p@ss", "HOST": "h", "PORT": ""})
        == "postgres://u:p%40ss@h/db"
    )
    assert database_url({"NAME": "db", "USER": "u", "HOST": "/tmp/s", "PORT": "5"}) == (
        "postgres://u@/db?host=%2Ftmp%2Fs&port=5"
    )
