"""Low-level rewriting of a bundle's members and the case registry."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badbundles.valid import CORPUS_KEY, MEMBER_ORDER
from evaluator.keys import fingerprint, public_key_bytes
from evaluator.limits import Limits
from evaluator.signing import PAYLOAD_TYPE, build_statement, pae, sign_statement

# ---------------------------------------------------------------- low-level rewriting helpers


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write_zip(out: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of some cases
        with zipfile.ZipFile(out, "w") as archive:
            for entry, data in entries:
                if isinstance(entry, str):
                    compress = (
                        zipfile.ZIP_DEFLATED if entry.endswith(".json") else zipfile.ZIP_STORED
                    )
                    info = zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = compress
                    info.external_attr = 0o100644 << 16
                    entry = info
                archive.writestr(entry, data)
    return out


def signature_for(
    members: Mapping[str, bytes], key: Ed25519PrivateKey = CORPUS_KEY, **statement_changes: Any
) -> bytes:
    digests = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in members.items()
        if name != "signature.dsse.json"
    }
    manifest = json.loads(members["manifest.json"]) if _is_json(members["manifest.json"]) else {}
    statement = build_statement(
        digests,
        run_id=str(manifest.get("run_id", "")) if isinstance(manifest, dict) else "",
        format_version=str(manifest.get("format_version", ""))
        if isinstance(manifest, dict)
        else "",
    )
    statement.update(statement_changes)
    return json.dumps(sign_statement(statement, key), indent=2).encode()


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def envelope_with(payload: bytes, key: Ed25519PrivateKey = CORPUS_KEY, **changes: Any) -> bytes:
    """A hand-made envelope over arbitrary payload bytes, properly signed unless changed."""
    envelope: dict[str, Any] = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {
                "keyid": fingerprint(public_key_bytes(key)),
                "sig": base64.b64encode(key.sign(pae(PAYLOAD_TYPE, payload))).decode(),
            }
        ],
    }
    envelope.update(changes)
    return json.dumps(envelope).encode()


def table_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def read_table(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


def set_column(
    table: pa.Table, name: str, values: list[Any], kind: pa.DataType | None = None
) -> pa.Table:
    index = table.schema.get_field_index(name)
    field = pa.field(name, kind or table.schema.field(name).type, nullable=True)
    return table.set_column(index, field, pa.array(values, type=field.type))


def mutate(
    valid: Path,
    tmpdir: Path,
    *,
    manifest: Callable[[dict[str, Any]], Any] | None = None,
    manifest_bytes: Callable[[bytes], bytes] | None = None,
    queries: Callable[[pa.Table], pa.Table] | None = None,
    trace: Callable[[pa.Table], pa.Table] | None = None,
    sign: bool = True,
    name: str = "bad.ipwb",
) -> Path:
    """Rewrite members of ``valid`` and (by default) sign the result again with CORPUS_KEY."""
    members = read_members(valid)
    if manifest is not None:
        document = json.loads(members["manifest.json"])
        result = manifest(document)
        document = document if result is None else result
        members["manifest.json"] = json.dumps(document, indent=2).encode()
    if manifest_bytes is not None:
        members["manifest.json"] = manifest_bytes(members["manifest.json"])
    if queries is not None:
        members["queries.parquet"] = table_bytes(queries(read_table(members["queries.parquet"])))
    if trace is not None:
        members["trace.parquet"] = table_bytes(trace(read_table(members["trace.parquet"])))
    if sign:
        members["signature.dsse.json"] = signature_for(members)
    entries = [(n, members[n]) for n in MEMBER_ORDER if n in members]
    return write_zip(tmpdir / name, entries)


def with_members(valid: Path, tmpdir: Path, change: Callable[[dict[str, bytes]], Any]) -> Path:
    """Arbitrary edits to the member dict (no re-signing), written back in the usual order."""
    members = read_members(valid)
    change(members)
    entries = [(n, members[n]) for n in MEMBER_ORDER if n in members]
    entries += [(n, d) for n, d in members.items() if n not in MEMBER_ORDER]
    return write_zip(tmpdir / "bad.ipwb", entries)


def with_entries(
    valid: Path,
    tmpdir: Path,
    extra: list[tuple[str | zipfile.ZipInfo, bytes]],
    drop: tuple[str, ...] = (),
) -> Path:
    members = read_members(valid)
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (n, members[n]) for n in MEMBER_ORDER if n in members and n not in drop
    ]
    return write_zip(tmpdir / "bad.ipwb", entries + extra)


def raw_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    return info


def patch_central_flags(path: Path, flag: int) -> Path:
    """Set general-purpose flag bits on every central directory entry (zipfile resets them)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        (flags,) = struct.unpack_from("<H", data, at + 8)
        struct.pack_into("<H", data, at + 8, flags | flag)
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def edit_signature(valid: Path, tmpdir: Path, edit: Callable[[dict[str, Any]], Any]) -> Path:
    def change(members: dict[str, bytes]) -> None:
        envelope = json.loads(members["signature.dsse.json"])
        edit(envelope)
        members["signature.dsse.json"] = json.dumps(envelope).encode()

    return with_members(valid, tmpdir, change)


def signed_payload(valid: Path, tmpdir: Path, make: Callable[[dict[str, Any]], Any]) -> Path:
    """Replace the Statement by ``make(statement)`` (or its bytes) and sign it properly."""

    def change(members: dict[str, bytes]) -> None:
        envelope = json.loads(members["signature.dsse.json"])
        statement = json.loads(base64.b64decode(envelope["payload"]))
        result = make(statement)
        payload = result if isinstance(result, bytes) else json.dumps(statement).encode()
        members["signature.dsse.json"] = envelope_with(payload)

    return with_members(valid, tmpdir, change)


# ---------------------------------------------------------------- the cases


@dataclass(frozen=True)
class BadCase:
    name: str
    build: Callable[[Path, Path], Path]
    expected_code: str
    limits: Limits | None = None  # a few cases shrink a limit instead of writing gigabytes


CASES: list[BadCase] = []


def case(
    expected: str, limits: Limits | None = None
) -> Callable[[Callable[[Path, Path], Path]], Callable[[Path, Path], Path]]:
    def register_case(build: Callable[[Path, Path], Path]) -> Callable[[Path, Path], Path]:
        CASES.append(BadCase(build.__name__, build, expected, limits))
        return build

    return register_case


def flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
