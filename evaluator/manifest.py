"""The manifest: strict JSON parsing and validation against ``schemas/manifest-v1.json``.

Strict means: UTF-8 only, no NaN/Infinity literals (Python's json accepts them, other parsers do
not, and a signed document must mean the same thing to every reader), no duplicate keys (same
reason: which value wins differs between parsers), and bounded nesting (checked before parsing so a
``[[[[...`` bomb cannot exhaust the recursion limit).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from evaluator.errors import BundleError, register
from evaluator.limits import DEFAULT_LIMITS, Limits

JSON_INVALID = register("bundle.json.invalid", "A JSON member is not valid UTF-8 JSON.")
JSON_NON_FINITE = register(
    "bundle.json.non_finite", "A JSON member contains a NaN or Infinity literal (not JSON)."
)
JSON_DUPLICATE_KEY = register(
    "bundle.json.duplicate_key", "A JSON object repeats a key; readers disagree on which wins."
)
JSON_TOO_DEEP = register("bundle.json.too_deep", "A JSON member is nested deeper than allowed.")
MANIFEST_TOO_LARGE = register("bundle.manifest.too_large", "manifest.json exceeds the size limit.")
MANIFEST_INVALID = register(
    "bundle.manifest.invalid", "manifest.json does not follow the manifest JSON Schema."
)
MANIFEST_VERSION = register(
    "bundle.manifest.unsupported_version", "The manifest's format_version is not one we read."
)

MANIFEST_NAME = "manifest.json"
# The bundle format versions this reader knows (docs/bundle-format.md section 8). 1.1 only added
# optional manifest fields and optional per-query columns, so both read alike: a 1.0 bundle is a
# valid 1.1 bundle, and a 1.0 manifest that carries 1.1's fields (packers wrote them under 1.0
# before the bump) stays readable, as already signed and stored bundles must.
SUPPORTED_VERSIONS = frozenset({"1.0", "1.1"})
FORMAT_VERSION = "1.1"  # what our packers write

# Strings (with their escapes) are skipped so that brackets inside them do not count as nesting.
_STRING_OR_BRACKET = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def json_depth(data: bytes) -> int:
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def load_json_strict(data: bytes, *, file: str, max_depth: int) -> Any:
    depth = json_depth(data)
    if depth > max_depth:
        raise BundleError(
            JSON_TOO_DEEP, f"nested {depth} levels deep; at most {max_depth} allowed", file=file
        )

    def reject_constant(name: str) -> Any:
        raise BundleError(
            JSON_NON_FINITE,
            f"contains the literal {name}, which is not JSON; write null or a finite number",
            file=file,
        )

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise BundleError(
                    JSON_DUPLICATE_KEY, f"key {clip(repr(key))} appears twice", file=file
                )
            out[key] = value
        return out

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(JSON_INVALID, f"not UTF-8: {exc}", file=file) from exc
    try:
        return json.loads(text, parse_constant=reject_constant, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise BundleError(
            JSON_INVALID, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file=file
        ) from exc
    except RecursionError as exc:  # belt and braces: the depth scan should have caught it
        raise BundleError(JSON_TOO_DEEP, "nested too deeply", file=file) from exc


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    text = resources.files("evaluator").joinpath("schemas/manifest-v1.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(manifest_schema())


def _path(parts: Any) -> str:
    return clip(".".join(str(part) for part in parts) or "(top level)")


MAX_ECHO = 80  # characters of a submitter's value an error message repeats


def clip(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis: an error names the offending value,
    it does not echo a 10,000-character one back whole (into reports, pages and logs)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _schema_message(error: Any) -> str:
    """jsonschema's message with the offending value (which it repeats whole) clipped."""
    message = str(error.message)
    shown = repr(error.instance)
    if len(shown) > MAX_ECHO:
        message = message.replace(shown, clip(shown))
    return clip(message, 4 * MAX_ECHO)


def validate_manifest(manifest: Any) -> dict[str, Any]:
    """Raise ``BundleError`` naming the first offending field; return the manifest unchanged."""
    if not isinstance(manifest, dict):
        raise BundleError(
            MANIFEST_INVALID, "the manifest must be a JSON object", file=MANIFEST_NAME
        )
    version = manifest.get("format_version")
    if isinstance(version, str) and version not in SUPPORTED_VERSIONS:
        raise BundleError(
            MANIFEST_VERSION,
            f"format_version {clip(repr(version))} is not supported; this reader knows "
            f"{', '.join(sorted(SUPPORTED_VERSIONS))}",
            file=MANIFEST_NAME,
            field="format_version",
        )
    error = best_match(_validator().iter_errors(manifest))
    if error is not None:
        where = _path(error.absolute_path)
        raise BundleError(
            MANIFEST_INVALID,
            f"{where}: {_schema_message(error)}",
            file=MANIFEST_NAME,
            field=where if error.absolute_path else None,
        )
    # What a JSON Schema pattern cannot say: real calendar dates and an ordered window.
    for where in ("created_at", "window.start", "window.end"):
        parse_time(_lookup(manifest, where), where)
    start = parse_time(manifest["window"]["start"], "window.start")
    end = parse_time(manifest["window"]["end"], "window.end")
    if end < start:
        raise BundleError(
            MANIFEST_INVALID,
            "window.end is before window.start",
            file=MANIFEST_NAME,
            field="window.end",
        )
    return manifest


def _lookup(manifest: dict[str, Any], dotted: str) -> Any:
    value: Any = manifest
    for part in dotted.split("."):
        value = value[part]
    return value


def parse_time(value: str, where: str) -> float:
    """RFC 3339 timestamp -> epoch seconds."""
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError as exc:
        raise BundleError(
            MANIFEST_INVALID,
            f"{where}: {clip(repr(value))} is not an RFC 3339 timestamp",
            file=MANIFEST_NAME,
            field=where,
        ) from exc
    if parsed.tzinfo is None:
        raise BundleError(
            MANIFEST_INVALID,
            f"{where}: {clip(repr(value))} has no UTC offset",
            file=MANIFEST_NAME,
            field=where,
        )
    return parsed.timestamp()


def read_manifest(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    if len(data) > limits.max_manifest_bytes:
        raise BundleError(
            MANIFEST_TOO_LARGE,
            f"{len(data)} bytes; at most {limits.max_manifest_bytes}",
            file=MANIFEST_NAME,
        )
    manifest = load_json_strict(data, file=MANIFEST_NAME, max_depth=limits.max_json_depth)
    return validate_manifest(manifest)


def dump_manifest(manifest: dict[str, Any]) -> bytes:
    # Sorted keys and a trailing newline: the same manifest always packs to the same bytes.
    return (json.dumps(manifest, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
