"""Bad cases of issue 12, finding 12: a user's value in an error message is clipped, never echoed
whole. The engine test checks their codes; tests/test_trust_messages.py sends them through the
API and a worker and checks what the messages say."""

from __future__ import annotations

from pathlib import Path

from badbundles.rewrite import case, mutate

HUGE = 10_000


@case("bundle.manifest.invalid")
def model_id_of_ten_thousand_characters(valid: Path, tmp: Path) -> Path:
    # Refused by the schema (at most 200 characters); the message must not repeat it.
    return mutate(valid, tmp, manifest=lambda m: m["model"].update(id="m" * HUGE))


@case("bundle.json.duplicate_key")
def duplicate_key_of_ten_thousand_characters(valid: Path, tmp: Path) -> Path:
    key = ("k" * HUGE).encode()
    return mutate(
        valid, tmp, manifest_bytes=lambda b: b.replace(b"{", b'{"%s": 1, "%s": 2,' % (key, key), 1)
    )
