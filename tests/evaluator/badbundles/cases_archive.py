"""Bad cases: the archive, the signature and the signed Statement."""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import stat
import uuid
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from badbundles.rewrite import (
    case,
    edit_signature,
    flip_middle,
    mutate,
    patch_central_flags,
    raw_info,
    read_members,
    set_column,
    signature_for,
    signed_payload,
    with_entries,
    with_members,
    write_zip,
)
from badbundles.valid import CORPUS_KEY, OTHER_KEY
from evaluator.keys import fingerprint, public_key_bytes
from evaluator.limits import DEFAULT_LIMITS

# -- archive ------------------------------------------------------------------


@case("bundle.archive.not_zip")
def not_a_zip(valid: Path, tmp: Path) -> Path:
    out = tmp / "bad.ipwb"
    out.write_bytes(b"%PDF-1.7\n" + valid.read_bytes()[:200])
    return out


@case("bundle.archive.empty")
def empty_zip(valid: Path, tmp: Path) -> Path:
    return write_zip(tmp / "bad.ipwb", [])


@case("bundle.archive.corrupt")
def truncated_zip(valid: Path, tmp: Path) -> Path:
    out = tmp / "bad.ipwb"
    out.write_bytes(valid.read_bytes()[: valid.stat().st_size // 2])
    return out


@case("bundle.archive.corrupt")
def crc_mismatch(valid: Path, tmp: Path) -> Path:
    # Flip a byte inside the stored queries.parquet data: the ZIP CRC no longer matches.
    data = bytearray(valid.read_bytes())
    at = data.find(b"PAR1") + 200
    data[at] ^= 0xFF
    out = tmp / "bad.ipwb"
    out.write_bytes(bytes(data))
    return out


@case("bundle.archive.too_large", replace(DEFAULT_LIMITS, max_bundle_bytes=10_000))
def oversize_bundle(valid: Path, tmp: Path) -> Path:
    return mutate(
        valid,
        tmp,
        queries=lambda t: set_column(
            t, "response", [r + " " + "x" * 4000 for r in t.column("response").to_pylist()]
        ),
    )


@case("bundle.archive.too_large", replace(DEFAULT_LIMITS, max_uncompressed_bytes=2_000))
def oversize_unpacked(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp)


@case("bundle.archive.compression_ratio")
def zip_bomb(valid: Path, tmp: Path) -> Path:
    info = zipfile.ZipInfo("trace.parquet", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16
    return with_entries(valid, tmp, [(info, b"\0" * (8 * 1024 * 1024))], drop=("trace.parquet",))


@case("bundle.archive.too_many_members")
def too_many_members(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [(f"pad{i}.txt", b"x") for i in range(20)])


@case("bundle.archive.path_traversal")
def zip_slip(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("../x", b"owned")])


@case("bundle.archive.path_traversal")
def zip_slip_nested(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("a/../../etc/passwd", b"owned")])


@case("bundle.archive.path_traversal")
def absolute_path(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("/etc/cron.d/x", b"owned")])


@case("bundle.archive.path_traversal")
def windows_drive_path(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("C:/Windows/x", b"owned")])


@case("bundle.archive.path_traversal")
def backslash_name(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("..\\..\\x", b"owned")])


@case("bundle.archive.bad_name")
def control_char_name(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("notes\x1b[2J.txt", b"x")])


@case("bundle.archive.bad_name")
def nul_in_name(valid: Path, tmp: Path) -> Path:
    # zipfile truncates names at NUL (both writing and opening): patch the bytes in afterwards so
    # the check must look at the original name.
    out = with_entries(valid, tmp, [("trace.parquet#.exe", b"x")], drop=("trace.parquet",))
    out.write_bytes(out.read_bytes().replace(b"trace.parquet#.exe", b"trace.parquet\x00.exe"))
    return out


@case("bundle.archive.special_member")
def symlink_member(valid: Path, tmp: Path) -> Path:
    return with_entries(
        valid,
        tmp,
        [(raw_info("trace.parquet", stat.S_IFLNK | 0o777), b"/etc/passwd")],
        drop=("trace.parquet",),
    )


@case("bundle.archive.special_member")
def directory_member(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [(raw_info("queries.parquet/", stat.S_IFDIR | 0o755), b"")])


@case("bundle.archive.special_member")
def fifo_member(valid: Path, tmp: Path) -> Path:
    return with_entries(
        valid,
        tmp,
        [(raw_info("trace.parquet", stat.S_IFIFO | 0o644), b"")],
        drop=("trace.parquet",),
    )


@case("bundle.archive.duplicate_member")
def duplicate_member(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("manifest.json", b"{}")])


@case("bundle.archive.unexpected_member")
def extra_member(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [("README.txt", b"hello")])


@case("bundle.archive.missing_member")
def missing_manifest(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [], drop=("manifest.json",))


@case("bundle.archive.missing_member")
def missing_queries(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [], drop=("queries.parquet",))


@case("bundle.archive.nested_archive")
def nested_zip(valid: Path, tmp: Path) -> Path:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("x.txt", "x")
    return with_entries(valid, tmp, [("trace.parquet", inner.getvalue())], drop=("trace.parquet",))


@case("bundle.archive.nested_archive")
def nested_gzip(valid: Path, tmp: Path) -> Path:
    return with_entries(
        valid, tmp, [("trace.parquet", gzip.compress(b"x" * 1000))], drop=("trace.parquet",)
    )


@case("bundle.archive.unsupported_compression")
def bzip2_member(valid: Path, tmp: Path) -> Path:
    info = zipfile.ZipInfo("trace.parquet", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_BZIP2
    info.external_attr = 0o100644 << 16
    data = read_members(valid)["trace.parquet"]
    return with_entries(valid, tmp, [(info, data)], drop=("trace.parquet",))


@case("bundle.archive.encrypted")
def encrypted_member(valid: Path, tmp: Path) -> Path:
    return patch_central_flags(mutate(valid, tmp), 0x1)


# -- signature and statement -----------------------------------------------


@case("bundle.signature.missing")
def unsigned(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [], drop=("signature.dsse.json",))


@case("bundle.digest.mismatch")
def tampered_queries_byte(valid: Path, tmp: Path) -> Path:
    def change(members: dict[str, bytes]) -> None:
        members["queries.parquet"] = flip_middle(members["queries.parquet"])

    return with_members(valid, tmp, change)


@case("bundle.digest.mismatch")
def tampered_manifest(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp, manifest=lambda m: m["claimed"].update(accuracy=1.0), sign=False)


@case("bundle.digest.mismatch")
def tampered_trace(valid: Path, tmp: Path) -> Path:
    def lower(t: pa.Table) -> pa.Table:
        return set_column(t, "power_w", [p * 0.5 for p in t.column("power_w").to_pylist()])

    return mutate(valid, tmp, trace=lower, sign=False)


@case("bundle.signature.unknown_key")
def unregistered_key(valid: Path, tmp: Path) -> Path:
    def change(members: dict[str, bytes]) -> None:
        members["signature.dsse.json"] = signature_for(members, OTHER_KEY)

    return with_members(valid, tmp, change)


@case("bundle.signature.invalid")
def signature_by_other_key(valid: Path, tmp: Path) -> Path:
    # Signed by another key but claiming the registered key's id.
    def change(members: dict[str, bytes]) -> None:
        envelope = json.loads(signature_for(members, OTHER_KEY))
        envelope["signatures"][0]["keyid"] = fingerprint(public_key_bytes(CORPUS_KEY))
        members["signature.dsse.json"] = json.dumps(envelope).encode()

    return with_members(valid, tmp, change)


@case("bundle.signature.invalid")
def truncated_signature(valid: Path, tmp: Path) -> Path:
    def edit(envelope: dict[str, Any]) -> None:
        sig = base64.b64decode(envelope["signatures"][0]["sig"])
        envelope["signatures"][0]["sig"] = base64.b64encode(sig[:32]).decode()

    return edit_signature(valid, tmp, edit)


@case("bundle.signature.invalid")
def payload_swapped(valid: Path, tmp: Path) -> Path:
    # A different (well-formed) payload under the original signature.
    def edit(envelope: dict[str, Any]) -> None:
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["predicate"]["run_id"] = str(uuid.uuid4())
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    return edit_signature(valid, tmp, edit)


@case("bundle.signature.bad_base64")
def bad_base64_signature(valid: Path, tmp: Path) -> Path:
    return edit_signature(valid, tmp, lambda e: e["signatures"][0].update(sig="@@not base64@@"))


@case("bundle.signature.bad_base64")
def bad_base64_payload(valid: Path, tmp: Path) -> Path:
    return edit_signature(valid, tmp, lambda e: e.update(payload="eyJ*not*base64"))


@case("bundle.signature.payload_type")
def wrong_payload_type(valid: Path, tmp: Path) -> Path:
    return edit_signature(valid, tmp, lambda e: e.update(payloadType="application/json"))


@case("bundle.signature.malformed")
def two_signatures(valid: Path, tmp: Path) -> Path:
    return edit_signature(valid, tmp, lambda e: e["signatures"].append(dict(e["signatures"][0])))


@case("bundle.signature.malformed")
def envelope_not_object(valid: Path, tmp: Path) -> Path:
    def change(members: dict[str, bytes]) -> None:
        members["signature.dsse.json"] = b"[1, 2, 3]"

    return with_members(valid, tmp, change)


@case("bundle.json.invalid")
def envelope_not_json(valid: Path, tmp: Path) -> Path:
    def change(members: dict[str, bytes]) -> None:
        members["signature.dsse.json"] = b"{this is not json"

    return with_members(valid, tmp, change)


@case("bundle.signature.too_large", replace(DEFAULT_LIMITS, max_signature_bytes=100))
def signature_too_large(valid: Path, tmp: Path) -> Path:
    return mutate(valid, tmp)


@case("bundle.statement.subject_mismatch")
def subject_missing_member(valid: Path, tmp: Path) -> Path:
    def make(statement: dict[str, Any]) -> None:
        statement["subject"] = [s for s in statement["subject"] if s["name"] != "trace.parquet"]

    return signed_payload(valid, tmp, make)


@case("bundle.statement.subject_mismatch")
def subject_extra_name(valid: Path, tmp: Path) -> Path:
    def make(statement: dict[str, Any]) -> None:
        statement["subject"].append({"name": "extra.bin", "digest": {"sha256": "0" * 64}})

    return signed_payload(valid, tmp, make)


@case("bundle.digest.mismatch")
def subject_wrong_digest(valid: Path, tmp: Path) -> Path:
    def make(statement: dict[str, Any]) -> None:
        statement["subject"][0]["digest"]["sha256"] = "ab" * 32

    return signed_payload(valid, tmp, make)


@case("bundle.statement.invalid")
def wrong_statement_type(valid: Path, tmp: Path) -> Path:
    return signed_payload(valid, tmp, lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"))


@case("bundle.statement.invalid")
def wrong_predicate_type(valid: Path, tmp: Path) -> Path:
    return signed_payload(
        valid, tmp, lambda s: s.update(predicateType="https://slsa.dev/provenance/v1")
    )


@case("bundle.json.non_finite")
def statement_nan(valid: Path, tmp: Path) -> Path:
    def make(statement: dict[str, Any]) -> bytes:
        statement["predicate"]["score"] = math.nan
        return json.dumps(statement).encode()  # json.dumps writes the NaN literal

    return signed_payload(valid, tmp, make)


@case("bundle.statement.manifest_mismatch")
def statement_run_id_differs(valid: Path, tmp: Path) -> Path:
    return signed_payload(valid, tmp, lambda s: s["predicate"].update(run_id=str(uuid.uuid4())))
