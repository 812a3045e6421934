"""Safe unpacking of an untrusted ``.ipwb`` (ZIP) bundle.

Nothing in the archive is trusted before it is checked: the central directory is sized before
zipfile parses it, every name is checked against a fixed allow-list (so nothing is ever written
outside the work directory), members must be regular files, and decompression is streamed with
byte counters so a zip bomb stops at the limit instead of filling the disk.

Stored (uncompressed) members, which is how ``pack`` writes the Parquet files, are not copied out:
they are hashed and CRC-checked in place and read later as a byte range of the bundle file
(``Member.open``). Copying a 300 MB bundle to the work directory cost more than all the checks on
it. Deflated members (the JSON files) are unpacked into the work directory as before.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from evaluator.errors import BundleError, register
from evaluator.limits import DEFAULT_LIMITS, Limits
from evaluator.manifest import MANIFEST_TOO_LARGE
from evaluator.signing import SIGNATURE_TOO_LARGE

MANIFEST = "manifest.json"
QUERIES = "queries.parquet"
TRACE = "trace.parquet"
SIGNATURE = "signature.dsse.json"
ALLOWED_MEMBERS = (MANIFEST, QUERIES, TRACE, SIGNATURE)
REQUIRED_MEMBERS = (MANIFEST, QUERIES)
CHUNK = 1024 * 1024

ARCHIVE_NOT_ZIP = register("bundle.archive.not_zip", "The file is not a ZIP archive (.ipwb).")
ARCHIVE_EMPTY = register("bundle.archive.empty", "The ZIP archive has no members.")
ARCHIVE_CORRUPT = register(
    "bundle.archive.corrupt", "The ZIP archive is damaged (bad header, CRC or truncation)."
)
ARCHIVE_TOO_LARGE = register(
    "bundle.archive.too_large", "The bundle or its unpacked members exceed the size limits."
)
ARCHIVE_TOO_MANY = register(
    "bundle.archive.too_many_members", "The ZIP central directory lists too many entries."
)
ARCHIVE_RATIO = register(
    "bundle.archive.compression_ratio", "A member decompresses far more than data can (zip bomb)."
)
ARCHIVE_TRAVERSAL = register(
    "bundle.archive.path_traversal",
    "A member name is absolute, has '..' or a backslash: it could escape the unpack directory.",
)
ARCHIVE_BAD_NAME = register(
    "bundle.archive.bad_name", "A member name is empty or contains control characters."
)
ARCHIVE_DUPLICATE = register(
    "bundle.archive.duplicate_member", "Two ZIP entries have the same name."
)
ARCHIVE_SPECIAL = register(
    "bundle.archive.special_member",
    "A member is a directory, symlink or other non-regular file.",
)
ARCHIVE_UNEXPECTED = register(
    "bundle.archive.unexpected_member", "A member's name is not one the bundle format allows."
)
ARCHIVE_MISSING = register(
    "bundle.archive.missing_member", "A required member (manifest.json, queries.parquet) is absent."
)
ARCHIVE_COMPRESSION = register(
    "bundle.archive.unsupported_compression",
    "A member uses a compression method other than stored or deflate.",
)
ARCHIVE_ENCRYPTED = register("bundle.archive.encrypted", "A member is encrypted.")
ARCHIVE_NESTED = register(
    "bundle.archive.nested_archive", "A member is itself an archive or compressed stream."
)

# Leading bytes of archive and compressed-stream formats: a member starting with one of these is
# an archive inside the archive, which the format never needs and a bomb often uses.
_NESTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"PK\x07\x08", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "RAR"),
    (b"\x04\x22\x4d\x18", "lz4"),
)
_DRIVE = re.compile(r"^[A-Za-z]:")
# MS-DOS directory attribute in the low byte of external_attr.
_DOS_DIRECTORY = 0x10


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of ``size`` bytes at ``offset`` of a file (positional reads:
    several readers never share a file position)."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY)
        self._offset, self._size, self._pos = offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), max(0, self._size - self._pos))
        if not want:
            return 0
        data = os.pread(self._fd, want, self._offset + self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def read(self, size: int = -1) -> bytes:
        want = self._size - self._pos if size is None or size < 0 else size
        want = min(want, max(0, self._size - self._pos))
        data = os.pread(self._fd, want, self._offset + self._pos) if want else b""
        self._pos += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


@dataclass(frozen=True)
class Member:
    """Where a member's bytes are: ``size`` bytes at ``offset`` of ``path`` (the bundle itself for
    a stored member, an unpacked file in the work directory otherwise)."""

    path: Path
    offset: int
    size: int

    def open(self) -> pa.NativeFile:
        """A fresh random-access reader for pyarrow (Parquet readers take it as a file)."""
        if self.offset == 0 and self.path.stat().st_size == self.size:
            return pa.OSFile(str(self.path), "r")
        return pa.PythonFile(_RangeFile(self.path, self.offset, self.size), mode="r")

    def read_bytes(self) -> bytes:
        with _RangeFile(self.path, self.offset, self.size) as handle:
            return handle.read()


@dataclass(frozen=True)
class OpenedBundle:
    path: Path
    workdir: Path
    bundle_sha256: str
    members: dict[str, Member] = field(default_factory=dict)
    member_sha256: dict[str, str] = field(default_factory=dict)
    member_size: dict[str, int] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.members

    def read_bytes(self, name: str) -> bytes:
        return self.members[name].read_bytes()

    def open(self, name: str) -> pa.NativeFile:
        return self.members[name].open()


class _Hasher(threading.Thread):
    """SHA-256 of a whole file on another thread: hashlib drops the GIL on large blocks, so the
    bundle's digest costs no wall time next to the member checks running meanwhile."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="bundle-sha256", daemon=True)
        self.path, self.digest, self.error = path, "", None  # type: ignore[var-annotated]

    def run(self) -> None:
        try:
            self.digest = sha256_file(self.path)
        except OSError as exc:
            self.error = exc  # type: ignore[assignment]

    def result(self) -> str:
        self.join()
        if self.error is not None:
            raise BundleError(ARCHIVE_CORRUPT, f"cannot read the bundle: {self.error}")
        return self.digest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_member_name(name: str) -> None:
    """Raise unless ``name`` is harmless as a relative file name (allow-list is checked later)."""
    if not name:
        raise BundleError(ARCHIVE_BAD_NAME, "a member has an empty name")
    if "\\" in name:
        raise BundleError(
            ARCHIVE_TRAVERSAL, f"member {name!r} contains a backslash", file=name[:200]
        )
    if name.startswith("/") or _DRIVE.match(name):
        raise BundleError(
            ARCHIVE_TRAVERSAL, f"member {name!r} is an absolute path", file=name[:200]
        )
    if ".." in name.split("/"):
        raise BundleError(ARCHIVE_TRAVERSAL, f"member {name!r} contains '..'", file=name[:200])
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BundleError(
            ARCHIVE_BAD_NAME, f"member {name!r} contains control characters", file=repr(name)[:200]
        )


def _check_directory_size(path: Path, limits: Limits) -> None:
    # zipfile reads the whole central directory into memory; size it from the end record first.
    with open(path, "rb") as handle:
        head = handle.read(4)
        if head == b"PK\x05\x06":
            raise BundleError(ARCHIVE_EMPTY, "the archive is empty: pack the bundle again")
        if head != b"PK\x03\x04":
            raise BundleError(
                ARCHIVE_NOT_ZIP,
                "not a ZIP archive (a bundle is a .ipwb file written by 'ipwboard pack')",
            )
        try:
            end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
        except OSError as exc:
            raise BundleError(ARCHIVE_CORRUPT, f"cannot read the archive: {exc}") from exc
    if end is None:
        raise BundleError(ARCHIVE_CORRUPT, "no ZIP end record: the file is truncated or damaged")
    entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    if entries > limits.max_members:
        raise BundleError(
            ARCHIVE_TOO_MANY,
            f"the archive lists {entries} entries; the limit is {limits.max_members} "
            f"(a bundle's members are {', '.join(ALLOWED_MEMBERS)})",
        )
    if size > limits.max_central_directory_bytes:
        raise BundleError(ARCHIVE_TOO_MANY, f"central directory of {size} bytes is too large")


def _check_entry(info: zipfile.ZipInfo, limits: Limits) -> None:
    name = info.orig_filename
    check_member_name(name)
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if name.endswith("/") or info.external_attr & _DOS_DIRECTORY or kind not in (0, stat.S_IFREG):
        what = (
            "a symbolic link"
            if kind == stat.S_IFLNK
            else "a directory"
            if kind == stat.S_IFDIR or name.endswith("/") or info.external_attr & _DOS_DIRECTORY
            else "not a regular file"
        )
        raise BundleError(ARCHIVE_SPECIAL, f"member {name!r} is {what}", file=name)
    if name not in ALLOWED_MEMBERS:
        raise BundleError(
            ARCHIVE_UNEXPECTED,
            f"member {name!r} is not allowed; a bundle holds only {', '.join(ALLOWED_MEMBERS)}",
            file=name,
        )
    if info.flag_bits & 0x1:
        raise BundleError(ARCHIVE_ENCRYPTED, f"member {name!r} is encrypted", file=name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise BundleError(
            ARCHIVE_COMPRESSION,
            f"member {name!r} uses compression method {info.compress_type}; use stored or deflate",
            file=name,
        )
    _check_ratio(name, info.file_size, info.compress_size, limits)
    _check_json_size(name, info.file_size, limits)


def _check_json_size(name: str, size: int, limits: Limits) -> None:
    # JSON members are parsed in memory: bound them before a byte is unpacked.
    cap = {MANIFEST: limits.max_manifest_bytes, SIGNATURE: limits.max_signature_bytes}.get(name)
    if cap is not None and size > cap:
        code = MANIFEST_TOO_LARGE if name == MANIFEST else SIGNATURE_TOO_LARGE
        raise BundleError(code, f"{name} is {size} bytes; at most {cap}", file=name)


def _check_ratio(name: str, size: int, compressed: int, limits: Limits) -> None:
    if size > limits.ratio_exempt_bytes and size > limits.max_compression_ratio * max(
        compressed, 1
    ):
        raise BundleError(
            ARCHIVE_RATIO,
            f"member {name!r} expands {size / max(compressed, 1):.0f}x; at most "
            f"{limits.max_compression_ratio:.0f}x is allowed",
            file=name,
        )


def open_bundle(path: Path, workdir: Path, limits: Limits = DEFAULT_LIMITS) -> OpenedBundle:
    """Check and unpack ``path`` into ``workdir``; raise ``BundleError`` on anything unsafe."""
    path, workdir = Path(path), Path(workdir)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BundleError(ARCHIVE_NOT_ZIP, f"cannot read the bundle: {exc}") from exc
    if size > limits.max_bundle_bytes:
        raise BundleError(
            ARCHIVE_TOO_LARGE, f"the bundle is {size} bytes; at most {limits.max_bundle_bytes}"
        )
    _check_directory_size(path, limits)
    workdir.mkdir(parents=True, exist_ok=True)
    hasher = _Hasher(path)
    hasher.start()
    members: dict[str, Member] = {}
    member_sha256: dict[str, str] = {}
    member_size: dict[str, int] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if not infos:
                raise BundleError(ARCHIVE_EMPTY, "the archive is empty: pack the bundle again")
            seen: set[str] = set()
            declared_total = 0
            for info in infos:
                _check_entry(info, limits)
                if info.orig_filename in seen:
                    raise BundleError(
                        ARCHIVE_DUPLICATE,
                        f"member {info.orig_filename!r} appears twice",
                        file=info.orig_filename,
                    )
                seen.add(info.orig_filename)
                declared_total += info.file_size
            if declared_total > limits.max_uncompressed_bytes:
                raise BundleError(
                    ARCHIVE_TOO_LARGE,
                    f"members total {declared_total} bytes unpacked; at most "
                    f"{limits.max_uncompressed_bytes}",
                )
            missing = [name for name in REQUIRED_MEMBERS if name not in seen]
            if missing:
                raise BundleError(
                    ARCHIVE_MISSING,
                    f"the bundle has no {', '.join(missing)}",
                    file=missing[0],
                )
            total = 0
            for info in infos:
                if info.compress_type == zipfile.ZIP_STORED:
                    member, digest = _check_stored(path, size, info, limits)
                else:
                    member, digest = _extract(archive, info, workdir, total, limits)
                total += member.size
                members[info.orig_filename] = member
                member_sha256[info.orig_filename] = digest
                member_size[info.orig_filename] = member.size
    except zipfile.BadZipFile as exc:
        raise BundleError(ARCHIVE_CORRUPT, f"damaged ZIP archive: {exc}") from exc
    except (EOFError, zipfile.LargeZipFile, NotImplementedError, UnicodeDecodeError) as exc:
        # UnicodeDecodeError: a header flags its name as UTF-8 and it is not.
        raise BundleError(ARCHIVE_CORRUPT, f"unreadable ZIP archive: {exc}") from exc
    except OSError as exc:
        # zlib errors surface as zlib.error (an Exception, not OSError) and are handled in _extract.
        raise BundleError(ARCHIVE_CORRUPT, f"cannot unpack the archive: {exc}") from exc
    finally:
        hasher.join()  # never leave the thread reading a file the caller may delete
    return OpenedBundle(path, workdir, hasher.result(), members, member_sha256, member_size)


_LOCAL_HEADER = struct.Struct("<4s22sHH")  # signature, fixed fields, name length, extra length


def _check_stored(
    path: Path, bundle_size: int, info: zipfile.ZipInfo, limits: Limits
) -> tuple[Member, str]:
    """Check a stored member in place (header, bounds, nesting, CRC) and hash it."""
    name = info.orig_filename
    if info.compress_size != info.file_size:
        raise BundleError(
            ARCHIVE_CORRUPT, f"stored member {name!r} declares two different sizes", file=name
        )
    with open(path, "rb") as handle:
        header = os.pread(handle.fileno(), _LOCAL_HEADER.size, info.header_offset)
        if len(header) < _LOCAL_HEADER.size:
            raise BundleError(ARCHIVE_CORRUPT, f"member {name!r} lies past the end", file=name)
        magic, _, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        start = info.header_offset + _LOCAL_HEADER.size
        raw_name = os.pread(handle.fileno(), name_length, start)
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if magic != b"PK\x03\x04" or raw_name.decode(encoding, "replace") != name:
            raise BundleError(
                ARCHIVE_CORRUPT, f"member {name!r} has a damaged local header", file=name
            )
        offset = start + name_length + extra_length
        if offset + info.file_size > bundle_size:
            raise BundleError(
                ARCHIVE_CORRUPT, f"member {name!r} is truncated: the file is cut short", file=name
            )
        digest = hashlib.sha256()
        crc = 0
        done = 0
        while done < info.file_size:
            chunk = os.pread(handle.fileno(), min(CHUNK, info.file_size - done), offset + done)
            if not chunk:
                raise BundleError(ARCHIVE_CORRUPT, f"member {name!r} is truncated", file=name)
            if not done:
                _check_not_nested(name, chunk)
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            done += len(chunk)
    if crc != info.CRC:
        raise BundleError(ARCHIVE_CORRUPT, f"bad CRC-32 for member {name!r}", file=name)
    return Member(path, offset, info.file_size), digest.hexdigest()


def _extract(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    workdir: Path,
    total: int,
    limits: Limits,
) -> tuple[Member, str]:
    """Inflate a compressed member into ``workdir``, counting what comes out (zip-bomb guard)."""
    name = info.orig_filename
    target = workdir / name  # safe: name is one of ALLOWED_MEMBERS
    digest = hashlib.sha256()
    written = 0
    try:
        with archive.open(info) as source, open(target, "xb") as sink:
            first = True
            while chunk := source.read(CHUNK):
                if first:
                    _check_not_nested(name, chunk)
                    first = False
                written += len(chunk)
                # Declared sizes are attacker-chosen: count what actually comes out.
                if written > info.file_size:
                    raise BundleError(
                        ARCHIVE_CORRUPT, f"member {name!r} is longer than declared", file=name
                    )
                if total + written > limits.max_uncompressed_bytes:
                    raise BundleError(
                        ARCHIVE_TOO_LARGE, "the members unpack beyond the size limit", file=name
                    )
                _check_ratio(name, written, info.compress_size, limits)
                _check_json_size(name, written, limits)
                digest.update(chunk)
                sink.write(chunk)
    except zlib.error as exc:
        raise BundleError(ARCHIVE_CORRUPT, f"member {name!r} does not inflate: {exc}") from exc
    return Member(target, 0, written), digest.hexdigest()


def _check_not_nested(name: str, head: bytes) -> None:
    for magic, kind in _NESTED_MAGIC:
        if head.startswith(magic):
            raise BundleError(
                ARCHIVE_NESTED, f"member {name!r} is a {kind} archive, not {name}", file=name
            )
    if len(head) > 262 and head[257:262] == b"ustar":
        raise BundleError(ARCHIVE_NESTED, f"member {name!r} is a tar archive", file=name)
