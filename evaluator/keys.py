"""Ed25519 keys for signing bundles: generation, storage, fingerprints, text encodings.

Keys are identified by an OpenSSH-style fingerprint ("SHA256:" + unpadded base64 of the SHA-256 of
the raw 32-byte public key), so that a submitter can compare what the board shows with
``ssh-keygen -lf`` output for the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evaluator.errors import BundleError, register

KEY_PASSPHRASE_WRONG = register(
    "key.passphrase.wrong", "The private key file is encrypted and the passphrase is wrong/missing."
)
KEY_FILE_INVALID = register(
    "key.file.invalid", "The key file is not a PEM PKCS8 Ed25519 private key."
)
KEY_PUBLIC_INVALID = register(
    "key.public.invalid",
    "The public key is not base64 of 32 raw Ed25519 bytes nor an 'ssh-ed25519' line.",
)

RAW_PUBLIC_LEN = 32


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def fingerprint(public_raw: bytes) -> str:
    digest = hashlib.sha256(public_raw).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def save_private_key(
    private_key: Ed25519PrivateKey, path: Path, passphrase: bytes | None = None
) -> Path:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path = Path(path)
    # Create with 0600 from the start: a chmod after writing leaves a window where others can read.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    return path


def load_private_key(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BundleError(KEY_FILE_INVALID, f"cannot read key file: {exc}", file=str(path)) from exc
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as exc:
        # cryptography raises TypeError for "encrypted but no password" and the reverse.
        if b"ENCRYPTED" in data:
            raise BundleError(
                KEY_PASSPHRASE_WRONG,
                "the key file is encrypted: give its passphrase",
                file=str(path),
            ) from exc
        raise BundleError(
            KEY_FILE_INVALID, "the key file is not encrypted: give no passphrase", file=str(path)
        ) from exc
    except ValueError as exc:
        if b"ENCRYPTED" in data:
            raise BundleError(
                KEY_PASSPHRASE_WRONG, "wrong passphrase for the key file", file=str(path)
            ) from exc
        raise BundleError(
            KEY_FILE_INVALID, f"not a PEM private key: {exc}", file=str(path)
        ) from exc
    except UnsupportedAlgorithm as exc:
        raise BundleError(KEY_FILE_INVALID, f"unsupported key: {exc}", file=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(
            KEY_FILE_INVALID,
            f"the key is {type(key).__name__}, only Ed25519 keys sign bundles",
            file=str(path),
        )
    return key


def encode_public_key(public_raw: bytes) -> str:
    if len(public_raw) != RAW_PUBLIC_LEN:
        raise BundleError(KEY_PUBLIC_INVALID, f"{len(public_raw)} bytes, expected 32")
    return base64.b64encode(public_raw).decode("ascii")


def decode_public_key(text: str) -> bytes:
    """Raw 32 bytes from base64 of the raw key or from an OpenSSH ``ssh-ed25519 AAAA... comment``."""
    text = text.strip()
    parts = text.split()
    if parts and parts[0] == "ssh-ed25519":
        if len(parts) < 2:
            raise BundleError(KEY_PUBLIC_INVALID, "the ssh-ed25519 line has no key data")
        return _decode_openssh_blob(parts[1])
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BundleError(KEY_PUBLIC_INVALID, f"not base64: {exc}") from exc
    if len(raw) != RAW_PUBLIC_LEN:
        raise BundleError(
            KEY_PUBLIC_INVALID, f"decodes to {len(raw)} bytes; an Ed25519 public key is 32"
        )
    return raw


def _decode_openssh_blob(blob_b64: str) -> bytes:
    # RFC 4253 wire format: string "ssh-ed25519", string key (each a uint32 length + bytes).
    try:
        blob = base64.b64decode(blob_b64, validate=True)
        (n,) = struct.unpack(">I", blob[:4])
        algo = blob[4 : 4 + n]
        (m,) = struct.unpack(">I", blob[4 + n : 8 + n])
        raw = blob[8 + n : 8 + n + m]
    except (binascii.Error, ValueError, struct.error) as exc:
        raise BundleError(KEY_PUBLIC_INVALID, f"malformed ssh-ed25519 key data: {exc}") from exc
    if algo != b"ssh-ed25519" or len(raw) != RAW_PUBLIC_LEN or len(blob) != 8 + n + m:
        raise BundleError(KEY_PUBLIC_INVALID, "malformed ssh-ed25519 key data")
    return raw
