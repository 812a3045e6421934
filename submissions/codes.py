"""Stable error codes that only the server can raise (the engine's own live in ``evaluator``).

A bundle that passes ``ipwboard verify`` locally fails on the server only for one of these.
"""

from __future__ import annotations

from evaluator.errors import register

# The CLI's own codes (raised on the submitter's machine) are listed with the server's.
from .cli import codes as _cli_codes  # noqa: F401

DATASET_UNKNOWN = register(
    "bundle.dataset.unknown",
    "The dataset version the bundle names is not registered on this server.",
)
REPLAY_BUNDLE = register(
    "bundle.replay.bundle", "This exact bundle file was already submitted and accepted or queued."
)
REPLAY_RUN = register("bundle.replay.run_id", "A bundle with this run id was already accepted.")
REPLAY_MEMBER = register(
    "bundle.replay.member", "A member file of this bundle is identical to one already accepted."
)
REPLAY_CONTENT = register(
    "bundle.replay.content",
    "The measured content (query ids, responses, tokens, energy, latency) is identical to an "
    "accepted submission's, whatever its encoding, row order or run id.",
)
KEY_NOT_VALID = register(
    "bundle.key.not_valid_at_time",
    "The signing key was retired, or revoked as compromised, before the server received this "
    "bundle.",
)
CHALLENGE_REQUIRED = register(
    "bundle.challenge.required", "This server only accepts bundles that carry a challenge nonce."
)
CHALLENGE_UNKNOWN = register(
    "bundle.challenge.unknown", "The challenge nonce was not issued by this server to you."
)
CHALLENGE_USED = register("bundle.challenge.used", "The challenge nonce was already used.")
CHALLENGE_EXPIRED = register(
    "bundle.challenge.expired", "The challenge nonce expired before the bundle was uploaded."
)
UPLOAD_MISSING = register("upload.missing_file", "No bundle file in the upload (field 'bundle').")
UPLOAD_EMPTY = register("upload.empty", "The uploaded bundle file is empty.")
UPLOAD_TOO_LARGE = register("upload.too_large", "The upload exceeds the server's size limit.")
UPLOAD_LENGTH_REQUIRED = register(
    "upload.length_required",
    "The request body has no Content-Length (chunked); send it with one.",
)
EMAIL_UNVERIFIED = register(
    "auth.email_unverified",
    "The account's email address is not verified yet; uploads need a verified address.",
)
INTERNAL = register(
    "internal.error", "The server failed while processing the bundle; staff have been notified."
)
TIME_LIMIT = register(
    "internal.time_limit", "Processing exceeded the time limit; the submission was marked failed."
)
SUPERSEDE_NOT_ALLOWED = register(
    "supersede.not_allowed",
    "Only your own accepted submission, not withdrawn nor already replaced, can be superseded.",
)
SUPERSEDE_MISMATCH = register(
    "bundle.supersede.mismatch",
    "The bundle asked to supersede a submission of another measured run (run id and measured "
    "members must be the same; only the manifest may change).",
)
