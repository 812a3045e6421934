"""Stable error codes that only the server can raise (the engine's own live in ``evaluator``).

A bundle that passes ``ipwboard verify`` locally fails on the server only for one of these.
"""

from __future__ import annotations

from evaluator.errors import register

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
KEY_NOT_VALID = register(
    "bundle.key.not_valid_at_time",
    "The signing key was retired or revoked before the time this bundle was made.",
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
INTERNAL = register(
    "internal.error", "The server failed while processing the bundle; staff have been notified."
)
TIME_LIMIT = register(
    "internal.time_limit", "Processing exceeded the time limit; the submission was marked failed."
)
