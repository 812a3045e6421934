"""Storage helpers: stream files into Django storage (local or S3) and back to a local path."""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

CHUNK = 1024 * 1024
WORK_PREFIX = "ipwboard-"

log = logging.getLogger(__name__)


class StorageUnavailable(Exception):
    """The storage backend (S3, the local disk) refused or could not be reached: ours, transient."""


def _storage_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (OSError,)
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency, but local storage needs none
        return errors
    return (*errors, BotoCoreError, ClientError)


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of a seekable stream, read in chunks; rewinds it afterwards."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def save_stream(name: str, stream: BinaryIO) -> str:
    """Store ``stream`` under ``name`` (the backend may pick a free variant) and return the name."""
    stream.seek(0)
    try:
        return default_storage.save(name, File(stream, name=Path(name).name))
    except _storage_errors() as exc:  # the API answers 503 storage.unavailable: retry later
        raise StorageUnavailable(f"could not store {name}: {type(exc).__name__}") from exc


@contextmanager
def local_copy(name: str, suffix: str = "") -> Iterator[Path]:
    """A temporary local copy of a stored file, streamed in chunks (S3 objects are never in RAM).

    It lives under ``work_dir()``, not the system temp dir: a worker killed with SIGKILL cannot
    clean up, and ``purge_stale_work`` then finds what it left behind.
    """
    with TemporaryDirectory(prefix=WORK_PREFIX, dir=work_dir()) as tmp:
        path = Path(tmp) / (Path(name).name + suffix)
        with default_storage.open(name, "rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        yield path


def work_dir() -> Path:
    """Scratch space for local copies and unpacked bundles, on this host."""
    path = Path(settings.DATA_DIR) / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def purge_stale_work(older_than_s: float) -> int:
    """Remove scratch directories untouched for ``older_than_s`` seconds (left by killed
    workers; a live task never runs longer than the hard time limit). Returns how many."""
    cutoff = time.time() - older_than_s
    removed = 0
    for entry in work_dir().glob(f"{WORK_PREFIX}*"):
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry)
                removed += 1
        except OSError:  # raced with another sweeper or the task itself
            log.warning("could not purge %s", entry, exc_info=True)
    return removed


def is_s3(storage: Any = None) -> bool:
    """True when ``storage`` (default: the default storage) is django-storages' S3 backend.

    Decided from the class's modules, so a server on local storage never imports boto3 for it
    (~80 ms of a web process's first per-query read). ``__class__`` of the lazy default storage
    is its backend's class."""
    backend = (storage if storage is not None else default_storage).__class__
    if not any(k.__module__.startswith("storages.backends.s3") for k in backend.__mro__):
        return False
    from storages.backends.s3 import S3Storage

    return issubclass(backend, S3Storage)


def s3_key(name: str, storage: Any = None) -> str:
    """The object key of a stored name (applies the backend's ``location`` prefix)."""
    from storages.utils import clean_name

    storage = storage if storage is not None else default_storage
    return storage._normalize_name(clean_name(name))


def iter_stored(name: str) -> Iterator[bytes]:
    """Stream a stored file in chunks. On S3 this reads the GET body directly: django-storages'
    S3File would first spool the whole object to a temporary file."""
    if is_s3():
        body = default_storage.bucket.Object(s3_key(name)).get()["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
        return
    with default_storage.open(name, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def hash_stored(name: str) -> tuple[str, int]:
    """SHA-256 and size of a stored file, streamed (never the whole object in memory)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in iter_stored(name):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class RangedReader(io.RawIOBase):
    """A read-only, seekable view of a stored S3 object that fetches only the byte ranges read.

    Parquet readers (the drill-down, judging) read the footer and then a few column chunks; with
    django-storages' S3File the first read would download the whole object. Each ``read`` is one
    ranged GET (pyarrow coalesces neighbouring ranges with ``pre_buffer``)."""

    def __init__(self, name: str) -> None:
        self._object = default_storage.bucket.Object(s3_key(name))
        self._size = int(self._object.content_length)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def size(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        if end <= self._pos:
            return b""
        body = self._object.get(Range=f"bytes={self._pos}-{end - 1}")["Body"]
        try:
            data = body.read()
        finally:
            body.close()
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_stored(name: str) -> str | BinaryIO:
    """A stored file for random access: its path on local storage, a ranged reader on S3."""
    if is_s3():
        return RangedReader(name)  # type: ignore[return-value]
    try:
        return default_storage.path(name)
    except NotImplementedError:  # another remote backend: the plain file object
        return default_storage.open(name, "rb")
