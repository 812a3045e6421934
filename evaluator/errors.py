"""Typed errors with stable codes.

Two families (design guide section 5): the submitter's (``BundleError``: the bundle is wrong and a
person can fix it) and ours (anything else: logged and retried by the worker). Codes are part of the
public API: they are shown by the API, the CLI and the status page and documented on the methodology
page, so a code is never renamed or reused; new ones are added to ``CODES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# code -> one-line description (rendered on the methodology page and in docs/bundle-format.md).
CODES: dict[str, str] = {}


def register(code: str, description: str) -> str:
    """Declare a stable error code once; returns the code so modules can keep it as a constant."""
    if code in CODES and CODES[code] != description:
        raise ValueError(f"error code {code!r} registered twice with different descriptions")
    CODES[code] = description
    return code


@dataclass
class BundleError(Exception):
    """The submitter's bundle is unacceptable. ``code`` is stable; ``message`` is for people."""

    code: str
    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered error code {self.code!r}")
        super().__init__(f"{self.code}: {self.message}")

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"file {self.file}" if self.file else "",
                f"row {self.row}" if self.row is not None else "",
                f"field {self.field}" if self.field else "",
            )
            if part
        )
        return f"[{self.code}] {self.message}" + (f" ({where})" if where else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "field": self.field,
        }
