"""Stable codes of errors the ``ipwboard`` CLI raises on the submitter's machine.

Registered with the engine's registry so that they appear in the board's error table (the
methodology page) and in docs/bundle-format.md Appendix B like every other code.
"""

from __future__ import annotations

from evaluator.errors import register

PASSPHRASE_MISSING = register(
    "key.passphrase.missing",
    "keygen has no terminal to ask for a passphrase: set IPWBOARD_KEY_PASSPHRASE, or pass "
    "--no-passphrase to store the key unencrypted.",
)
PASSPHRASE_MISMATCH = register("key.passphrase.mismatch", "The two passphrases typed differ.")
KEY_FILE_MISSING = register(
    "key.file.missing", "No private key at the path given; run `ipwboard keygen` first."
)
KEY_FILE_EXISTS = register(
    "key.file.exists", "keygen would overwrite an existing key; pass --force to replace it."
)
AUTH_MISSING = register(
    "auth.missing", "No API token: run `ipwboard login` (the token comes from your account page)."
)
DATASET_MISSING = register(
    "dataset.missing", "The command needs --dataset (a dataset file or slug@version)."
)
DATASET_NOT_MATCHED = register(
    "dataset.not_matched",
    "No dataset on the server matches the run's items; pass --dataset slug@version.",
)
KEY_NOT_REGISTERED = register(
    "key.not_registered",
    "Your signing key is not registered (or not active) on the server: `ipwboard keys register`.",
)
