"""Writing bundles: pack the members, sign them, hash the result.

Packing is deterministic (sorted manifest keys, fixed ZIP timestamps, fixed member order) so that
the same run packs to the same bytes. Files are written beside the target and renamed into place,
so a crash never leaves a half-written bundle under the final name.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evaluator.bundle.tables import TRACE_SCHEMA, Q, T, query_schema_for
from evaluator.bundle.unpack import (
    ALLOWED_MEMBERS,
    ARCHIVE_UNEXPECTED,
    CHUNK,
    MANIFEST,
    QUERIES,
    SIGNATURE,
    TRACE,
    sha256_file,
)
from evaluator.errors import BundleError
from evaluator.manifest import dump_manifest, read_manifest, validate_manifest
from evaluator.signing import build_statement, sign_statement

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
REGULAR_FILE_MODE = 0o100644 << 16
WRITE_BATCH = 65_536


def bundle_sha256(path: Path) -> str:
    return sha256_file(Path(path))


def conform(table: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """Select and cast ``schema``'s columns by name; absent nullable columns become nulls."""
    columns = []
    for target in schema:
        if target.name in table.column_names:
            column = table.column(target.name)
            columns.append(column.cast(target.type) if column.type != target.type else column)
        elif target.nullable:
            columns.append(pa.nulls(table.num_rows, target.type))
        else:
            raise BundleError(
                Q["schema"] if "query_id" in schema.names else T["schema"],
                f"required column {target.name!r} is missing",
                field=target.name,
            )
    return pa.Table.from_arrays(columns, schema=schema)


def _batches(source: pa.Table | Path | str) -> Iterator[pa.Table]:
    if isinstance(source, pa.Table):
        for batch in source.to_batches(max_chunksize=WRITE_BATCH):
            yield pa.Table.from_batches([batch])
        return
    handle = pq.ParquetFile(source)
    for batch in handle.iter_batches(batch_size=WRITE_BATCH):
        yield pa.Table.from_batches([batch])


def write_parquet(source: pa.Table | Path | str, schema: pa.Schema, out: Path) -> Path:
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        wrote = False
        for part in _batches(source):
            writer.write_table(conform(part, schema))
            wrote = True
        if not wrote:  # an empty table still needs its schema in the file
            writer.write_table(schema.empty_table())
    return out


def write_trace(readings: Iterable[tuple[int, float, float]], out: Path) -> Path:
    """Stream (timestamp_ns, power_w, cumulative energy_j) readings into a trace.parquet."""
    out = Path(out)
    with pq.ParquetWriter(out, TRACE_SCHEMA, compression="zstd") as writer:
        stamps: list[int] = []
        power: list[float] = []
        energy: list[float] = []

        def flush() -> None:
            writer.write_table(pa.table([stamps, power, energy], schema=TRACE_SCHEMA))
            stamps.clear()
            power.clear()
            energy.clear()

        for stamp, watts, joules in readings:
            stamps.append(int(stamp))
            power.append(float(watts))
            energy.append(float(joules))
            if len(stamps) >= WRITE_BATCH:
                flush()
        flush()
    return out


def _zip_info(name: str, size: int, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = compress
    info.external_attr = REGULAR_FILE_MODE
    info.file_size = size
    return info


def _copy_stream(source: IO[bytes], sink: IO[bytes]) -> None:
    while chunk := source.read(CHUNK):
        sink.write(chunk)


def _write_member_file(archive: zipfile.ZipFile, name: str, path: Path) -> None:
    # Parquet compresses itself; deflating it again costs time and gains nothing.
    compress = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
    info = _zip_info(name, path.stat().st_size, compress)
    with open(path, "rb") as source, archive.open(info, "w") as sink:
        _copy_stream(source, sink)


def _atomic_zip(out_path: Path) -> tuple[int, Path]:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    return fd, Path(tmp)


def pack_bundle(
    out_path: Path,
    manifest: Mapping[str, Any],
    queries: pa.Table | Path | str,
    trace: pa.Table | Path | str | None = None,
) -> Path:
    """Write an unsigned bundle; the manifest is validated first so a bad one is never packed."""
    out_path = Path(out_path)
    document: dict[str, Any] = copy.deepcopy(dict(manifest))
    validate_manifest(document)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Work beside the target: same filesystem, so the final rename is atomic.
    with tempfile.TemporaryDirectory(dir=out_path.parent) as t:
        tmpdir = Path(t)
        members: dict[str, Path] = {}
        members[MANIFEST] = tmpdir / MANIFEST
        members[MANIFEST].write_bytes(dump_manifest(document))
        # The optional per-query columns the queries carry are kept (tables.OPTIONAL_QUERY_COLUMNS).
        names = (
            queries.column_names
            if isinstance(queries, pa.Table)
            else pq.ParquetFile(queries).schema_arrow.names
        )
        members[QUERIES] = write_parquet(queries, query_schema_for(names), tmpdir / QUERIES)
        if trace is not None:
            members[TRACE] = write_parquet(trace, TRACE_SCHEMA, tmpdir / TRACE)
        fd, tmp = _atomic_zip(out_path)
        try:
            with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
                for name in ALLOWED_MEMBERS:
                    if name in members:
                        _write_member_file(archive, name, members[name])
            os.replace(tmp, out_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return out_path


def sign_bundle(path: Path, private_key: Ed25519PrivateKey) -> str:
    """Add (or replace) signature.dsse.json; returns the signing key's fingerprint."""
    path = Path(path)
    digests: dict[str, str] = {}
    with zipfile.ZipFile(path) as archive:
        infos = [info for info in archive.infolist() if info.filename != SIGNATURE]
        for info in infos:
            if info.filename not in ALLOWED_MEMBERS:
                raise BundleError(
                    ARCHIVE_UNEXPECTED,
                    f"member {info.filename!r} is not allowed",
                    file=info.filename,
                )
            digest = hashlib.sha256()
            with archive.open(info) as member:
                while chunk := member.read(CHUNK):
                    digest.update(chunk)
            digests[info.filename] = digest.hexdigest()
        # Refuse to sign what the server would reject anyway: the submitter learns it now.
        manifest = read_manifest(archive.read(MANIFEST))
        statement = build_statement(
            digests, run_id=manifest["run_id"], format_version=manifest["format_version"]
        )
        envelope = sign_statement(statement, private_key)
        fd, tmp = _atomic_zip(path)
        try:
            with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as out:
                for info in infos:
                    copy_info = _zip_info(info.filename, info.file_size, info.compress_type)
                    with archive.open(info) as source, out.open(copy_info, "w") as sink:
                        _copy_stream(source, sink)
                body = (json.dumps(envelope, indent=2) + "\n").encode("utf-8")
                out.writestr(_zip_info(SIGNATURE, len(body), zipfile.ZIP_DEFLATED), body)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    os.replace(tmp, path)
    return str(envelope["signatures"][0]["keyid"])
