"""Storage helpers: stream files into Django storage (local or S3) and back to a local path."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, BinaryIO

from django.core.files import File
from django.core.files.storage import default_storage

CHUNK = 1024 * 1024


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
    return default_storage.save(name, File(stream, name=Path(name).name))


@contextmanager
def local_copy(name: str, suffix: str = "") -> Iterator[Path]:
    """A temporary local copy of a stored file, streamed in chunks (S3 objects are never in RAM)."""
    with TemporaryDirectory(prefix="ipwboard-") as tmp:
        path = Path(tmp) / (Path(name).name + suffix)
        with default_storage.open(name, "rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        yield path


def is_s3(storage: Any = None) -> bool:
    """True when ``storage`` (default: the default storage) is django-storages' S3 backend."""
    from storages.backends.s3 import S3Storage

    return isinstance(storage if storage is not None else default_storage, S3Storage)


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
