"""Validation of one dataset item (JSON object -> DatasetItem) and the dataset error codes."""

from __future__ import annotations

import math
import re
import sys
from typing import Any, cast

from evaluator.errors import BundleError, register
from evaluator.scoring.numeric import check_reference
from evaluator.types import DatasetItem, ScoringMethod

FILE_INVALID = register(
    "dataset.file.invalid",
    "The dataset file cannot be read: unreadable, not UTF-8, not one JSON object per line, "
    "or not starting with its header line.",
)
HEADER_INVALID = register(
    "dataset.header.invalid", "The dataset header line has a missing, unknown or invalid field."
)
ITEM_INVALID = register(
    "dataset.item.invalid",
    "A dataset item is malformed: missing or mistyped field, unknown scoring method, or "
    "parameters that do not fit its method.",
)
DUPLICATE_ID = register("dataset.id.duplicate", "Two dataset items share the same id.")
PRIVATE_MISMATCH = register(
    "dataset.private.mismatch",
    "The private references file does not belong to this public dataset file.",
)
IMPORT_INVALID = register(
    "dataset.import.invalid", "A source row cannot be converted into a dataset item."
)

METHODS = ("letter_match", "numeric_match", "exact_match", "llm_judge")
ITEM_KEYS = {"id", "prompt", "reference", "domain", "method", "params"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")
_LETTER = re.compile(r"^[A-Z]$")


def _fail(message: str, where: str, row: int, field: str | None = None) -> BundleError:
    return BundleError(ITEM_INVALID, message, where, row, field)


def _check_params(
    method: str, reference: str | None, params: dict[str, Any], where: str, row: int
) -> None:
    for key in ("tolerance", "abs_tol", "rel_tol"):
        if key in params:
            value = params[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise _fail(
                    f"params.{key} must be a non-negative number", where, row, f"params.{key}"
                )
    if method == "letter_match":
        options = params.get("options")
        if not isinstance(options, dict) or len(options) < 2:
            raise _fail(
                "letter_match needs params.options: {letter: text}, 2+ options",
                where,
                row,
                "params.options",
            )
        for key, text in options.items():
            if not _LETTER.match(key) or not isinstance(text, str):
                raise _fail(
                    f"option {key!r} must be an uppercase letter with text",
                    where,
                    row,
                    "params.options",
                )
        if reference is not None and reference not in options:
            raise _fail(
                f"reference {reference!r} is not one of the option letters", where, row, "reference"
            )
    elif method == "numeric_match":
        if reference is not None and (problem := check_reference(reference)) is not None:
            raise _fail(
                f"reference is not a number or expression ({problem})", where, row, "reference"
            )
    elif method == "exact_match":
        aliases = params.get("aliases", [])
        if not isinstance(aliases, list) or not all(
            isinstance(a, str) and a.strip() for a in aliases
        ):
            raise _fail("params.aliases must be a list of strings", where, row, "params.aliases")
        if reference is not None and not reference.strip():
            raise _fail("exact_match reference is empty", where, row, "reference")
    elif method == "llm_judge" and not isinstance(params.get("rubric", ""), str):
        raise _fail("params.rubric must be a string", where, row, "params.rubric")


def item_from_json(obj: Any, *, where: str, row: int, references: str) -> DatasetItem:
    """Validate one item line. ``references`` is the header's mode: a public file carries
    references, a "private" one must carry none (a leaked reference is an error, not a warning)."""
    if not isinstance(obj, dict):
        raise _fail("each line must be a JSON object", where, row)
    missing = ITEM_KEYS - set(obj)
    if missing:
        raise _fail(f"missing field(s) {sorted(missing)}", where, row, sorted(missing)[0])
    unknown = set(obj) - ITEM_KEYS
    if unknown:
        raise _fail(f"unknown field(s) {sorted(unknown)}", where, row, sorted(unknown)[0])
    item_id, prompt, reference = obj["id"], obj["prompt"], obj["reference"]
    domain, method, params = obj["domain"], obj["method"], obj["params"]
    if not isinstance(item_id, str) or not _ID.match(item_id):
        raise _fail("id must be 1-128 characters of letters, digits and ._:/-", where, row, "id")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _fail("prompt must be a non-empty string", where, row, "prompt")
    if not isinstance(domain, str) or not domain.strip() or len(domain) > 100:
        raise _fail("domain must be a non-empty string (max 100)", where, row, "domain")
    if method not in METHODS:
        raise _fail(f"method must be one of {', '.join(METHODS)}", where, row, "method")
    if not isinstance(params, dict):
        raise _fail("params must be an object", where, row, "params")
    if references == "private":
        if reference is not None:
            raise _fail(
                "a file with private references must have reference null", where, row, "reference"
            )
    elif not isinstance(reference, str):
        raise _fail("reference must be a string", where, row, "reference")
    _check_params(method, reference, params, where, row)
    # Domains and methods repeat on every line: one shared string each, not a million copies.
    return DatasetItem(
        id=item_id,
        prompt=prompt,
        reference=reference,
        domain=sys.intern(domain),
        method=cast(ScoringMethod, sys.intern(method)),
        params=params,
    )
