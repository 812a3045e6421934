"""What of a run's ``manifest.system`` may be published: a whitelist, not a blacklist.

The reference harness records the submitting machine's host name (``Alexs-MacBook-Pro.local``,
``gpu-node-03``) and its absolute output path (``/home/<user>/runs/...``) beside the OS and CPU.
Those name a machine and a person, and the bundle's manifest is public (signed raw bundles are
downloadable), so the importer writes only the fields below and the board displays only them,
whatever a hand-written bundle carries. A value that looks like a path is dropped too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# field -> label shown on the pair page, in display order.
PUBLIC_SYSTEM_FIELDS: dict[str, str] = {
    "os_name": "OS",
    "os_version": "OS version",
    "kernel_version": "Kernel",
    "cpu_brand": "CPU",
    "cpu_count": "CPU threads",
}
MAX_VALUE_CHARS = 100
# Absolute or home-relative paths (POSIX, Windows drive or UNC) anywhere in a value.
_PATH = re.compile(r"(^|[\s=:])(/|~|[A-Za-z]:[\\/]|\\\\)|[\\/](home|Users|root)[\\/]")


def public_value(value: Any) -> str | int | float | None:
    """``value`` if it is a short plain number or text without a path in it, else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > MAX_VALUE_CHARS or _PATH.search(text):
        return None
    return text


def public_system(system: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The publishable part of a ``system`` object, in ``PUBLIC_SYSTEM_FIELDS`` order."""
    if not isinstance(system, Mapping):
        return {}
    out: dict[str, Any] = {}
    for field in PUBLIC_SYSTEM_FIELDS:
        value = public_value(system.get(field))
        if value is not None:
            out[field] = value
    return out


def labelled(system: Mapping[str, Any] | Any) -> list[tuple[str, Any]]:
    """(label, value) of the publishable fields, for display."""
    return [(PUBLIC_SYSTEM_FIELDS[k], v) for k, v in public_system(system).items()]
