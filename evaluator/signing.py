"""DSSE envelopes over in-toto Statements, signed with Ed25519.

The signature covers the DSSE pre-authentication encoding (PAE) of the payload, never the parsed
JSON, so verification happens on bytes first and only the verified payload bytes are ever parsed.
The Statement lists every other member of the bundle with its SHA-256: a valid signature therefore
pins the exact bytes of the manifest, the queries and the trace.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evaluator.errors import BundleError, register
from evaluator.keys import fingerprint, public_key_bytes
from evaluator.limits import DEFAULT_LIMITS, Limits
from evaluator.manifest import load_json_strict

SIGNATURE_NAME = "signature.dsse.json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://ipwboard.dev/bundle/v1"
ED25519_SIG_LEN = 64

SIGNATURE_MISSING = register(
    "bundle.signature.missing", "The bundle is not signed (no signature.dsse.json); run sign."
)
SIGNATURE_MALFORMED = register(
    "bundle.signature.malformed", "signature.dsse.json is not a DSSE envelope with one signature."
)
SIGNATURE_TOO_LARGE = register(
    "bundle.signature.too_large", "signature.dsse.json exceeds the size limit."
)
SIGNATURE_PAYLOAD_TYPE = register(
    "bundle.signature.payload_type", "The DSSE payloadType is not application/vnd.in-toto+json."
)
SIGNATURE_BAD_BASE64 = register(
    "bundle.signature.bad_base64", "The DSSE payload or signature is not valid base64."
)
SIGNATURE_UNKNOWN_KEY = register(
    "bundle.signature.unknown_key", "The bundle is signed by a key not registered for this user."
)
SIGNATURE_INVALID = register(
    "bundle.signature.invalid", "The Ed25519 signature does not verify over the DSSE payload."
)
STATEMENT_INVALID = register(
    "bundle.statement.invalid", "The signed payload is not an in-toto Statement v1 for a bundle."
)
STATEMENT_SUBJECTS = register(
    "bundle.statement.subject_mismatch",
    "The signed Statement's subjects do not name exactly the bundle's members.",
)
DIGEST_MISMATCH = register(
    "bundle.digest.mismatch", "A member's SHA-256 differs from the one in the signed Statement."
)


@dataclass(frozen=True)
class VerifiedStatement:
    key_fingerprint: str
    statement: Mapping[str, Any]
    subjects: Mapping[str, str]  # member name -> sha256 hex, as signed
    run_id: str
    format_version: str


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding; lengths are ASCII decimal byte counts."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def build_statement(
    member_sha256: Mapping[str, str], *, run_id: str, format_version: str
) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": digest}}
            for name, digest in sorted(member_sha256.items())
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"run_id": run_id, "format_version": format_version},
    }


def sign_statement(statement: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = private_key.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {
                "keyid": fingerprint(public_key_bytes(private_key)),
                "sig": base64.b64encode(signature).decode("ascii"),
            }
        ],
    }


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BundleError(SIGNATURE_MALFORMED, f"{what} must be a string", file=SIGNATURE_NAME)
    # DSSE allows standard or URL-safe base64; both decoded strictly (no stray characters).
    for alphabet in (None, b"-_"):
        try:
            return base64.b64decode(value, altchars=alphabet, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise BundleError(SIGNATURE_BAD_BASE64, f"{what} is not valid base64", file=SIGNATURE_NAME)


def verify_envelope(
    envelope_bytes: bytes,
    member_sha256: Mapping[str, str],
    trusted_keys: Mapping[str, bytes],
    limits: Limits = DEFAULT_LIMITS,
) -> VerifiedStatement:
    """Check the envelope, its signature, then that the Statement names exactly these members."""
    if len(envelope_bytes) > limits.max_signature_bytes:
        raise BundleError(
            SIGNATURE_TOO_LARGE,
            f"{len(envelope_bytes)} bytes; at most {limits.max_signature_bytes}",
            file=SIGNATURE_NAME,
        )
    envelope = load_json_strict(
        envelope_bytes, file=SIGNATURE_NAME, max_depth=limits.max_json_depth
    )
    if not isinstance(envelope, dict) or not {"payloadType", "payload", "signatures"} <= set(
        envelope
    ):
        raise BundleError(
            SIGNATURE_MALFORMED,
            "expected an object with payloadType, payload and signatures",
            file=SIGNATURE_NAME,
        )
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise BundleError(
            SIGNATURE_PAYLOAD_TYPE,
            f"payloadType is {envelope['payloadType']!r}; expected {PAYLOAD_TYPE!r}",
            file=SIGNATURE_NAME,
            field="payloadType",
        )
    signatures = envelope["signatures"]
    # v1 carries exactly one signature: the submitter's. Several would leave "who signed" ambiguous.
    if (
        not isinstance(signatures, list)
        or len(signatures) != 1
        or not isinstance(signatures[0], dict)
    ):
        raise BundleError(
            SIGNATURE_MALFORMED,
            "signatures must be a list holding exactly one {keyid, sig} object",
            file=SIGNATURE_NAME,
            field="signatures",
        )
    keyid = signatures[0].get("keyid")
    if not isinstance(keyid, str):
        raise BundleError(
            SIGNATURE_MALFORMED, "signatures[0].keyid is missing", file=SIGNATURE_NAME
        )
    payload = _b64(envelope["payload"], "payload")
    sig = _b64(signatures[0].get("sig"), "signatures[0].sig")
    public_raw = trusted_keys.get(keyid)
    if public_raw is None:
        raise BundleError(
            SIGNATURE_UNKNOWN_KEY,
            f"signed by key {keyid}, which is not registered for this account; register its "
            "public key (ipwboard keygen prints it) or sign with a registered key",
            file=SIGNATURE_NAME,
            field="signatures[0].keyid",
        )
    if len(sig) != ED25519_SIG_LEN:
        raise BundleError(
            SIGNATURE_INVALID,
            f"the signature is {len(sig)} bytes; Ed25519 signatures are {ED25519_SIG_LEN}",
            file=SIGNATURE_NAME,
        )
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(sig, pae(PAYLOAD_TYPE, payload))
    except (InvalidSignature, ValueError) as exc:
        raise BundleError(
            SIGNATURE_INVALID,
            f"the signature does not verify with key {keyid}: the bundle was changed after "
            "signing or signed with another key; sign it again",
            file=SIGNATURE_NAME,
        ) from exc
    # Only now, with authenticated bytes, is the payload parsed.
    statement = load_json_strict(payload, file=SIGNATURE_NAME, max_depth=limits.max_json_depth)
    subjects, run_id, version = _parse_statement(statement)
    _compare_subjects(subjects, member_sha256)
    return VerifiedStatement(fingerprint(public_raw), statement, subjects, run_id, version)


def _parse_statement(statement: Any) -> tuple[dict[str, str], str, str]:
    def bad(why: str) -> BundleError:
        return BundleError(STATEMENT_INVALID, why, file=SIGNATURE_NAME)

    if not isinstance(statement, dict):
        raise bad("the payload is not a JSON object")
    if statement.get("_type") != STATEMENT_TYPE:
        raise bad(f"_type is {statement.get('_type')!r}; expected {STATEMENT_TYPE!r}")
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise bad(
            f"predicateType is {statement.get('predicateType')!r}; expected {PREDICATE_TYPE!r}"
        )
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict) or not all(
        isinstance(predicate.get(key), str) for key in ("run_id", "format_version")
    ):
        raise bad("predicate must hold run_id and format_version strings")
    raw_subjects = statement.get("subject")
    if not isinstance(raw_subjects, list):
        raise bad("subject must be a list")
    subjects: dict[str, str] = {}
    for index, entry in enumerate(raw_subjects):
        name = entry.get("name") if isinstance(entry, dict) else None
        digest = entry.get("digest") if isinstance(entry, dict) else None
        sha = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(name, str) or not isinstance(sha, str):
            raise bad(f"subject[{index}] must be {{name, digest: {{sha256}}}}")
        if name in subjects:
            raise BundleError(
                STATEMENT_SUBJECTS, f"subject {name!r} is listed twice", file=SIGNATURE_NAME
            )
        subjects[name] = sha.lower()
    return subjects, predicate["run_id"], predicate["format_version"]


def _compare_subjects(subjects: Mapping[str, str], members: Mapping[str, str]) -> None:
    missing = sorted(set(members) - set(subjects))
    extra = sorted(set(subjects) - set(members))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"members not covered by the signature: {', '.join(missing)}")
        if extra:
            parts.append(f"signed names absent from the bundle: {', '.join(extra)}")
        raise BundleError(
            STATEMENT_SUBJECTS, "; ".join(parts) + "; sign the bundle again", file=SIGNATURE_NAME
        )
    for name in sorted(members):
        if subjects[name] != members[name]:
            raise BundleError(
                DIGEST_MISMATCH,
                f"{name} has SHA-256 {members[name]} but the signature covers "
                f"{subjects[name]}: the file changed after signing",
                file=name,
            )
