"""A corpus of bad bundles, each built by code from a valid one, with the code it must be rejected
with. One parametrised test walks ``CASES`` through ``evaluate()``; the API tests reuse it.

The valid bundle must come from ``make_valid_bundle(tmpdir, make_dataset(), CORPUS_KEY)`` and be
evaluated with ``trusted_keys=corpus_trusted_keys()``: cases that need a consistent signature after
their change re-sign with ``CORPUS_KEY``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import math
import stat
import struct
import uuid
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evaluator.bundle import pack_bundle, sign_bundle
from evaluator.bundle.tables import QUERY_SCHEMA, TRACE_SCHEMA
from evaluator.keys import fingerprint, public_key_bytes
from evaluator.limits import DEFAULT_LIMITS, Limits
from evaluator.signing import PAYLOAD_TYPE, build_statement, pae, sign_statement
from evaluator.types import Dataset, DatasetItem

# Deterministic keys: the corpus is reproducible byte for byte.
CORPUS_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ipwb corpus key").digest())
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ipwb other key").digest())
T0 = 1_760_000_000.0  # window start, epoch seconds
PERIOD = 0.05
MEMBER_ORDER = ("manifest.json", "queries.parquet", "trace.parquet", "signature.dsse.json")


def corpus_trusted_keys() -> dict[str, bytes]:
    raw = public_key_bytes(CORPUS_KEY)
    return {fingerprint(raw): raw}


# ---------------------------------------------------------------- a valid bundle, from scratch


def make_dataset(n: int = 12, slug: str = "corpus-mini", version: str = "1") -> Dataset:
    items = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            options = {"A": f"red {i}", "B": f"green {i}", "C": f"blue {i}", "D": f"gold {i}"}
            prompt = f"Q{i}: which colour?\n" + "\n".join(f"{k}. {v}" for k, v in options.items())
            items.append(
                DatasetItem(f"mc-{i:03d}", prompt, "B", "trivia", "letter_match", {"options": options})
            )
        elif kind == 1:
            items.append(
                DatasetItem(f"num-{i:03d}", f"Q{i}: what is {i} + {i}?", str(2 * i), "math",
                            "numeric_match", {"tolerance": 1e-6})
            )
        else:
            items.append(
                DatasetItem(f"ex-{i:03d}", f"Q{i}: say the word 'apple{i}'.", f"apple{i}", "chat",
                            "exact_match", {})
            )
    digest = hashlib.sha256(json.dumps([item.id for item in items]).encode()).hexdigest()
    return Dataset(slug=slug, version=version, sha256=digest, items=tuple(items))


def answer_for(item: DatasetItem, correct: bool = True) -> str:
    if item.method == "letter_match":
        return "B" if correct else "D"
    if item.method == "numeric_match":
        return f"The answer is {item.reference}." if correct else "The answer is 12345."
    return str(item.reference) if correct else "banana"


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def make_manifest(dataset: Dataset, start: float, end: float, **changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format_version": "1.0",
        "run_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"corpus:{dataset.slug}:{start}")),
        "created_at": _iso(end + 60),
        "synthetic": True,
        "harness": {"name": "corpus", "version": "1.0"},
        "model": {
            "id": "demo/model-1b",
            "revision": "abc123",
            "quantization": "bf16",
            "engine": "vllm",
            "engine_version": "0.6.0",
            "params_total_b": 1.2,
        },
        "hardware": {
            "label": "H100",
            "accelerator": "NVIDIA H100 80GB HBM3",
            "vendor": "NVIDIA",
            "count": 1,
            "class": "local",
            "memory_gb": 80,
            "tdp_w": 700,
        },
        "system": {"os": "Linux", "kernel": "6.8"},
        "dataset": {"slug": dataset.slug, "version": dataset.version, "sha256": dataset.sha256},
        "measurement": {"scope": "accelerator", "method": "simulated", "sampling_period_s": PERIOD},
        "window": {"start": _iso(start), "end": _iso(end)},
        "challenge": None,
        "claimed": {"accuracy": 0.9},
    }
    manifest.update(changes)
    return manifest


def make_trace(start: float, end: float, period: float = PERIOD) -> pa.Table:
    count = int(round((end - start) / period)) + 1
    stamps = np.round((start + np.arange(count) * period) * 1e9).astype(np.int64)
    seconds = (stamps - stamps[0]) / 1e9
    power = 120.0 + 30.0 * np.sin(seconds * 1.7) + 5.0 * np.cos(seconds * 13.0)
    steps = np.diff(seconds) * (power[:-1] + power[1:]) / 2
    energy = 5000.0 + np.concatenate(([0.0], np.cumsum(steps)))
    return pa.table([stamps, power, energy], schema=TRACE_SCHEMA)


def make_queries(
    dataset: Dataset, trace: pa.Table, start: float, rows: int | None = None
) -> pa.Table:
    stamps = trace.column("timestamp_ns").to_numpy() / 1e9
    counter = trace.column("energy_j").to_numpy()
    items = dataset.items[: rows if rows is not None else len(dataset.items)]
    cursor = start + 0.25
    data: dict[str, list[Any]] = {name: [] for name in QUERY_SCHEMA.names}
    for index, item in enumerate(items):
        latency = 0.4 + 0.1 * (index % 5)
        begin, finish = cursor, cursor + latency
        energy = float(np.interp(finish, stamps, counter) - np.interp(begin, stamps, counter))
        response = answer_for(item, correct=index != 1)  # one wrong answer
        row = {
            "query_id": item.id,
            "response": response,
            "input_tokens": 40 + index,
            "output_tokens": max(1, len(response) // 4),
            "ttft_s": 0.1,
            "latency_s": latency,
            "energy_j": energy,
            "power_avg_w": energy / latency,
            "power_max_w": energy / latency * 1.2,
            "power_min_w": energy / latency * 0.8,
            "power_median_w": energy / latency,
            "started_at": begin,
            "ended_at": finish,
        }
        for name, value in row.items():
            data[name].append(value)
        cursor = finish + 0.05
    return pa.table(data, schema=QUERY_SCHEMA)


def run_span(dataset: Dataset) -> float:
    return 0.5 + sum(0.4 + 0.1 * (i % 5) + 0.05 for i in range(len(dataset.items)))


def make_valid_bundle(
    tmpdir: Path,
    dataset: Dataset,
    key: Ed25519PrivateKey = CORPUS_KEY,
    *,
    n: int | None = None,
    with_trace: bool = True,
    name: str = "valid.ipwb",
    **manifest_changes: Any,
) -> Path:
    """Pack and sign a bundle that passes every check (``n`` rows: default all items)."""
    start = T0
    end = start + run_span(dataset)
    trace = make_trace(start, end)
    queries = make_queries(dataset, trace, start, n)
    manifest = make_manifest(dataset, start, end, **manifest_changes)
    out = pack_bundle(Path(tmpdir) / name, manifest, queries, trace if with_trace else None)
    sign_bundle(out, key)
    return out


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
                    compress = zipfile.ZIP_DEFLATED if entry.endswith(".json") else zipfile.ZIP_STORED
                    info = zipfile.ZipInfo(entry, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = compress
                    info.external_attr = 0o100644 << 16
                    entry = info
                archive.writestr(entry, data)
    return out


def signature_for(members: Mapping[str, bytes], key: Ed25519PrivateKey = CORPUS_KEY,
                  **statement_changes: Any) -> bytes:
    digests = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in members.items()
        if name != "signature.dsse.json"
    }
    manifest = json.loads(members["manifest.json"]) if _is_json(members["manifest.json"]) else {}
    statement = build_statement(
        digests,
        run_id=str(manifest.get("run_id", "")) if isinstance(manifest, dict) else "",
        format_version=str(manifest.get("format_version", "")) if isinstance(manifest, dict) else "",
    )
    statement.update(statement_changes)
    return json.dumps(sign_statement(statement, key), indent=2).encode()


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
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


def set_column(table: pa.Table, name: str, values: list[Any], kind: pa.DataType | None = None) -> pa.Table:
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
    valid: Path, tmpdir: Path, extra: list[tuple[str | zipfile.ZipInfo, bytes]], drop: tuple[str, ...] = ()
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


def case(expected: str, limits: Limits | None = None) -> Callable[[Callable[[Path, Path], Path]], Callable[[Path, Path], Path]]:
    def register_case(build: Callable[[Path, Path], Path]) -> Callable[[Path, Path], Path]:
        CASES.append(BadCase(build.__name__, build, expected, limits))
        return build

    return register_case


def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


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
    return mutate(valid, tmp, queries=lambda t: set_column(
        t, "response", [r + " " + "x" * 4000 for r in t.column("response").to_pylist()]))


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
    # zipfile truncates names at NUL: the check must see the original name.
    return with_entries(valid, tmp, [("trace.parquet\x00.exe", b"x")], drop=("trace.parquet",))


@case("bundle.archive.special_member")
def symlink_member(valid: Path, tmp: Path) -> Path:
    return with_entries(
        valid, tmp, [(raw_info("trace.parquet", stat.S_IFLNK | 0o777), b"/etc/passwd")],
        drop=("trace.parquet",),
    )


@case("bundle.archive.special_member")
def directory_member(valid: Path, tmp: Path) -> Path:
    return with_entries(valid, tmp, [(raw_info("queries.parquet/", stat.S_IFDIR | 0o755), b"")])


@case("bundle.archive.special_member")
def fifo_member(valid: Path, tmp: Path) -> Path:
    return with_entries(
        valid, tmp, [(raw_info("trace.parquet", stat.S_IFIFO | 0o644), b"")], drop=("trace.parquet",)
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
        members["queries.parquet"] = _flip_middle(members["queries.parquet"])

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
    return signed_payload(valid, tmp, lambda s: s.update(predicateType="https://slsa.dev/provenance/v1"))


@case("bundle.json.non_finite")
def statement_nan(valid: Path, tmp: Path) -> Path:
    def make(statement: dict[str, Any]) -> bytes:
        statement["predicate"]["score"] = math.nan
        return json.dumps(statement).encode()  # json.dumps writes the NaN literal

    return signed_payload(valid, tmp, make)


@case("bundle.statement.manifest_mismatch")
def statement_run_id_differs(valid: Path, tmp: Path) -> Path:
    return signed_payload(valid, tmp, lambda s: s["predicate"].update(run_id=str(uuid.uuid4())))
