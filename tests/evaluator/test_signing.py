"""Keys, fingerprints, DSSE PAE and envelope verification."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest

from evaluator.errors import BundleError
from evaluator.keys import (
    decode_public_key,
    encode_public_key,
    fingerprint,
    generate_private_key,
    load_private_key,
    public_key_bytes,
    save_private_key,
)
from evaluator.signing import (
    PAYLOAD_TYPE,
    build_statement,
    pae,
    sign_statement,
    verify_envelope,
)

MEMBERS = {"manifest.json": "a" * 64, "queries.parquet": "b" * 64}
RUN_ID = "6f1c2a9e-2b7d-4c1e-9f00-000000000001"


def test_pae_matches_the_dsse_spec_example() -> None:
    # From the DSSE protocol document.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_fingerprint_is_openssh_style() -> None:
    raw = bytes(range(32))
    expected = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    assert fingerprint(raw) == "SHA256:" + expected
    assert "=" not in fingerprint(raw)


def test_public_key_text_round_trip_and_openssh_line() -> None:
    key = generate_private_key()
    raw = public_key_bytes(key)
    assert decode_public_key(encode_public_key(raw)) == raw
    blob = b"".join(len(part).to_bytes(4, "big") + part for part in (b"ssh-ed25519", raw))
    line = "ssh-ed25519 " + base64.b64encode(blob).decode() + " alice@laptop"
    assert decode_public_key(line) == raw


@pytest.mark.parametrize(
    "text",
    ["", "not base64!", base64.b64encode(b"short").decode(), "ssh-ed25519", "ssh-ed25519 AAAA"],
)
def test_bad_public_keys_are_rejected(text: str) -> None:
    with pytest.raises(BundleError) as raised:
        decode_public_key(text)
    assert raised.value.code == "key.public.invalid"


def test_private_key_file_is_0600_and_round_trips(tmp_path: Path) -> None:
    key = generate_private_key()
    path = save_private_key(key, tmp_path / "id_ipwb", None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_bytes(load_private_key(path, None)) == public_key_bytes(key)


def test_encrypted_key_needs_the_right_passphrase(tmp_path: Path) -> None:
    key = generate_private_key()
    path = save_private_key(key, tmp_path / "id_ipwb", b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    assert public_key_bytes(load_private_key(path, b"correct horse")) == public_key_bytes(key)
    for wrong in (b"battery staple", None):
        with pytest.raises(BundleError) as raised:
            load_private_key(path, wrong)
        assert raised.value.code == "key.passphrase.wrong"


def test_garbage_key_file(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(BundleError) as raised:
        load_private_key(path, None)
    assert raised.value.code == "key.file.invalid"
    with pytest.raises(BundleError) as raised:
        load_private_key(tmp_path / "missing", None)
    assert raised.value.code == "key.file.invalid"


def _signed() -> tuple[bytes, dict[str, bytes]]:
    key = generate_private_key()
    raw = public_key_bytes(key)
    statement = build_statement(MEMBERS, run_id=RUN_ID, format_version="1.0")
    envelope = sign_statement(statement, key)
    return json.dumps(envelope).encode(), {fingerprint(raw): raw}


def test_envelope_verifies_and_reports_the_subjects() -> None:
    envelope, trusted = _signed()
    verified = verify_envelope(envelope, MEMBERS, trusted)
    assert verified.subjects == MEMBERS
    assert verified.run_id == RUN_ID
    assert verified.key_fingerprint in trusted
    assert json.loads(envelope)["payloadType"] == PAYLOAD_TYPE


def test_url_safe_base64_is_accepted() -> None:
    envelope, trusted = _signed()
    data = json.loads(envelope)
    for holder, key in ((data, "payload"), (data["signatures"][0], "sig")):
        raw = base64.b64decode(holder[key])
        holder[key] = base64.urlsafe_b64encode(raw).decode()
    verify_envelope(json.dumps(data).encode(), MEMBERS, trusted)


def test_unknown_key_message_says_not_registered() -> None:
    envelope, _ = _signed()
    with pytest.raises(BundleError) as raised:
        verify_envelope(envelope, MEMBERS, {})
    assert raised.value.code == "bundle.signature.unknown_key"
    assert "not registered" in raised.value.message


def test_subject_digest_and_name_mismatches() -> None:
    envelope, trusted = _signed()
    with pytest.raises(BundleError) as raised:
        verify_envelope(envelope, {**MEMBERS, "queries.parquet": "c" * 64}, trusted)
    assert raised.value.code == "bundle.digest.mismatch"
    assert raised.value.file == "queries.parquet"
    with pytest.raises(BundleError) as raised:
        verify_envelope(envelope, {**MEMBERS, "trace.parquet": "d" * 64}, trusted)
    assert raised.value.code == "bundle.statement.subject_mismatch"
    assert "trace.parquet" in raised.value.message
