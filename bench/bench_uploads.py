"""Upload a 1 GiB bundle-sized file through the API (streamed) and through the presigned S3 path,
and report how much the web server process's memory grows (target: < 100 MiB each).

Everything is real and local: moto's standalone S3 server, the Django dev server (one process,
whose RSS we sample every 20 ms from /proc) on the embedded profile with S3 storage, and an httpx
client. Run: ``.venv/bin/python bench/bench_uploads.py [--size-mib 1024]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.services import free_port, run_process, start_moto_server, wait_for_port  # noqa: E402

MIB = 1024**2


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Sampler:
    """Peak RSS of a process while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.baseline = rss_mib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib(self.pid))

    @property
    def growth(self) -> float:
        return self.peak - self.baseline


def write_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as fh:
        for index in range(size // MIB):
            # vary every block a little so nothing downstream can deduplicate it
            fh.write(index.to_bytes(8, "big") + block[8:])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib * MIB

    with tempfile.TemporaryDirectory(prefix="ipwb-bench-") as tmp_name, start_moto_server() as moto:
        tmp = Path(tmp_name)
        env = {
            **os.environ,
            "IPWBOARD_ENV": "embedded",
            "IPWBOARD_DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "AWS_STORAGE_BUCKET_NAME": "bench",
            "AWS_S3_ENDPOINT_URL": moto.endpoint_url,
            "AWS_ACCESS_KEY_ID": moto.access_key,
            "AWS_SECRET_ACCESS_KEY": moto.secret_key,
            "IPWBOARD_MAX_UPLOAD_BYTES": str(4 * size),
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        import boto3

        boto3.client(
            "s3",
            endpoint_url=moto.endpoint_url,
            region_name=moto.region,
            aws_access_key_id=moto.access_key,
            aws_secret_access_key=moto.secret_key,
        ).create_bucket(Bucket="bench")
        manage(env, "migrate", "-v", "0")
        token = manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; from submissions import services;"
            "u = get_user_model().objects.create_user('bench', 'b@example.org', 'x');"
            "print('TOKEN=' + services.create_api_token(u, 'bench')[1])",
        )
        token = next(line[6:] for line in token.splitlines() if line.startswith("TOKEN="))

        bundle = tmp / "bundle.ipwb"
        write_file(bundle, size)
        port = free_port()
        argv = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
        with run_process(argv, env, tmp / "server.log"):
            wait_for_port("127.0.0.1", port, timeout=60)
            pid = _server_pid(port)
            api = httpx.Client(
                base_url=f"http://127.0.0.1:{port}/api/v1/",
                headers={"Authorization": f"Token {token}"},
                timeout=httpx.Timeout(600.0),
            )
            api.get("uploads/").raise_for_status()  # warm up: imports, DB connection

            started = time.perf_counter()
            with Sampler(pid) as streamed, bundle.open("rb") as fh:
                response = api.post(
                    "submissions/", files={"bundle": ("bundle.ipwb", fh, "application/zip")}
                )
            assert response.status_code == 201, response.text
            streamed_s = time.perf_counter() - started

            with bundle.open("r+b") as fh:  # different bytes: not a replay of the first one
                fh.write(b"second!!")
            started = time.perf_counter()
            with Sampler(pid) as direct:
                upload = api.post("uploads/", json={"size": size}).json()
                with bundle.open("rb") as fh, httpx.Client(timeout=600.0) as storage:
                    for part in upload["parts"]:
                        fh.seek((part["part_number"] - 1) * upload["part_size"])
                        storage.put(part["url"], content=fh.read(part["size"])).raise_for_status()
                done = api.post(f"uploads/{upload['upload_id']}/finalise/", json={})
            assert done.status_code == 201, done.text
            direct_s = time.perf_counter() - started

    print(f"bundle size: {size / MIB:.0f} MiB")
    print(
        f"streamed through the API: server RSS {streamed.baseline:.0f} -> peak "
        f"{streamed.peak:.0f} MiB (growth {streamed.growth:.1f} MiB) in {streamed_s:.1f} s"
    )
    print(
        f"presigned direct to S3 + finalise: server RSS {direct.baseline:.0f} -> peak "
        f"{direct.peak:.0f} MiB (growth {direct.growth:.1f} MiB) in {direct_s:.1f} s"
    )
    ok = streamed.growth < 100 and direct.growth < 100
    print("target (< 100 MiB growth each):", "met" if ok else "MISSED")
    return 0 if ok else 1


def _server_pid(port: int) -> int:
    """The process listening on ``port`` (the dev server, started with --noreload)."""
    inode_hex = f"{port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(f":{inode_hex}") and fields[3] == "0A":
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on {port}")


if __name__ == "__main__":
    sys.exit(main())
