"""Bundle uploads with a progress bar: streamed through the API, or straight to S3 (resumable).

A direct upload's id is remembered in ``<config dir>/uploads.json`` under the file's path, size
and mtime: running ``ipwboard submit`` again after an interruption uploads only the missing parts.
Our API token is never sent to the storage URLs (they are presigned).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from .client import ApiClient, CliError
from .config import config_dir
from .output import Output

Advance = Callable[[int], None]


class ProgressReader:
    """A file wrapper that reports every read (httpx streams multipart bodies by ``read``)."""

    def __init__(self, fh: BinaryIO, advance: Advance) -> None:
        self._fh = fh
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._advance(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


@contextmanager
def progress_bar(out: Output, total: int, label: str) -> Iterator[Advance]:
    if out.json_mode or total <= 0:
        yield lambda n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out.err, transient=False) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def streamed_upload(
    client: ApiClient, path: Path, out: Output, organisation: str = "", supersedes: str = ""
) -> Any:
    size = path.stat().st_size
    with progress_bar(out, size, f"uploading {path.name}") as advance:
        sent = 0

        def counted(n: int) -> None:
            nonlocal sent
            sent += n
            advance(n)

        def wrap(fh: BinaryIO) -> ProgressReader:
            # A retry re-opens the file: wind the bar back to zero with it.
            nonlocal sent
            if sent:
                advance(-sent)
                sent = 0
            return ProgressReader(fh, counted)

        fields = {"organisation": organisation, "supersedes": supersedes}
        data = {k: v for k, v in fields.items() if v} or None
        return client.upload(path, data=data, wrap=wrap)


# --- direct (presigned multipart) -----------------------------------------------------------------


def _state_path() -> Path:
    return config_dir() / "uploads.json"


def _state_key(client: ApiClient, path: Path) -> str:
    stat = path.stat()
    return f"{client.server}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def _load_state() -> dict[str, str]:
    try:
        return dict(json.loads(_state_path().read_text()))
    except (OSError, ValueError):
        return {}


def _save_state(state: dict[str, str]) -> None:
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(_state_path(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(state, fh, indent=2)


def direct_upload(
    client: ApiClient, path: Path, out: Output, organisation: str = "", supersedes: str = ""
) -> Any:
    """Start (or resume) a multipart upload, PUT the missing parts, then finalise."""
    key = _state_key(client, path)
    state = _load_state()
    upload = None
    if key in state:
        try:
            upload = client.get(f"uploads/{state[key]}/")
        except CliError as error:
            if error.code != "not_found":
                raise
        if upload is not None and upload["state"] != "open":
            upload = None
        if upload is not None:
            out.progress(
                f"resuming upload {upload['upload_id']}: "
                f"{len(upload['uploaded_parts'])} of {upload['part_count']} parts already stored"
            )
    if upload is None:
        upload = client.post("uploads/", {"filename": path.name, "size": path.stat().st_size})
        state[key] = str(upload["upload_id"])
        _save_state(state)
    done = sum(p["size"] for p in upload["uploaded_parts"])
    with (
        progress_bar(out, upload["size"], f"uploading {path.name} to storage") as advance,
        httpx.Client(timeout=httpx.Timeout(60.0, write=300.0)) as storage,
        path.open("rb") as fh,
    ):
        advance(done)
        for part in upload["parts"]:
            fh.seek((part["part_number"] - 1) * upload["part_size"])
            body = fh.read(part["size"])
            _put_part(storage, part["url"], body, part["part_number"])
            advance(len(body))
    submission = client.post(  # finalising twice returns the same submission: safe to retry
        f"uploads/{upload['upload_id']}/finalise/",
        {"organisation": organisation, "supersedes": supersedes},
        idempotent=True,
    )
    state = _load_state()
    state.pop(key, None)
    _save_state(state)
    return submission


def _put_part(storage: httpx.Client, url: str, body: bytes, number: int) -> None:
    try:
        response = storage.put(url, content=body)
    except httpx.TransportError as exc:
        raise CliError(
            "upload.interrupted",
            f"Uploading part {number} failed ({exc}); run the same command again to resume.",
            3,
        ) from exc
    if response.status_code >= 400:
        raise CliError(
            "upload.storage_error",
            f"Storage refused part {number} (HTTP {response.status_code}): "
            f"{response.text[:200]}. Run the same command again to resume.",
            3,
        )
