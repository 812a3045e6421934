"""The leaderboard's view state: parsed from the URL, written back to it, nothing else.

The URL is the only place the state lives (shareable permalinks, working back button), so parsing
is forgiving (a bad value is dropped, never a 500) and writing is canonical (defaults are left out,
keys come in a fixed order), which also makes it a good cache key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from . import columns

PER_PAGE = 50


def _text(params: Mapping[str, str], key: str, limit: int = 100) -> str:
    return str(params.get(key, "") or "")[:limit].strip()


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _positive_float(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def _page(value: str) -> int:
    try:
        return max(1, min(int(value), 10_000))
    except ValueError:
        return 1


@dataclass(frozen=True)
class BoardQuery:
    """The whole view state of the leaderboard (and of the model/hardware pages built on it)."""

    sort: str = "ipw"
    descending: bool = True
    dataset: str = ""  # "slug@version" or "slug"
    scope: str = ""  # measurement scope: accelerator | soc | wall
    hw_class: str = ""  # local | cloud
    device_class: str = ""  # the catalog's class: datacenter, workstation, laptop ...
    form_factor: str = ""  # the catalog's form factor: sxm, pcie, soc, laptop-gpu ...
    vendor: str = ""
    accelerator: str = ""
    family: str = ""
    max_active: float | None = None  # billions of active parameters
    quant: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    show_all: bool = False
    page: int = 1
    # Set by the model and hardware pages from their path, never from (or into) the query string.
    model: str = ""  # AIModel.slug
    hardware: str = ""  # Hardware.slug
    workload: str = ""  # Submission.workload_kind: "agentic" on the agentic track's page

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> BoardQuery:
        sort = _text(params, "sort", 20)
        sortable = columns.sorts()  # ``?sort=`` key -> column (the registry)
        if sort not in sortable:
            sort = "ipw"
        direction = _text(params, "dir", 4)
        default_desc = sortable[sort].higher_is_better
        descending = default_desc if direction not in ("asc", "desc") else direction == "desc"
        return cls(
            sort=sort,
            descending=descending,
            dataset=_text(params, "dataset"),
            scope=_text(params, "scope", 20),
            hw_class=_text(params, "hw_class", 10),
            device_class=_text(params, "device", 20),
            form_factor=_text(params, "form", 20),
            vendor=_text(params, "vendor"),
            accelerator=_text(params, "accelerator"),
            family=_text(params, "family"),
            max_active=_positive_float(_text(params, "max_active", 20)),
            quant=_text(params, "quant", 50),
            date_from=_date(_text(params, "from", 10)),
            date_to=_date(_text(params, "to", 10)),
            q=_text(params, "q"),
            show_all=_text(params, "all", 1) == "1",
            page=_page(_text(params, "page", 6)),
        )

    def to_params(self, **changes: Any) -> dict[str, str]:
        """Canonical URL parameters (defaults omitted); ``changes`` override fields first."""
        state = replace(self, **changes) if changes else self
        # Plain attribute reads, not dataclasses.asdict (which deep-copies every field): this runs
        # a few dozen times per rendered table (every header and pager link).
        s: dict[str, Any] = state.__dict__
        default_desc = columns.sorts()[state.sort].higher_is_better
        params = {
            "q": s["q"],
            "dataset": s["dataset"],
            "scope": s["scope"],
            "hw_class": s["hw_class"],
            "device": s["device_class"],
            "form": s["form_factor"],
            "vendor": s["vendor"],
            "accelerator": s["accelerator"],
            "family": s["family"],
            "max_active": f"{state.max_active:g}" if state.max_active else "",
            "quant": s["quant"],
            "from": state.date_from.isoformat() if state.date_from else "",
            "to": state.date_to.isoformat() if state.date_to else "",
            "all": "1" if state.show_all else "",
            "sort": state.sort if state.sort != "ipw" else "",
            "dir": ("desc" if state.descending else "asc")
            if state.descending != default_desc
            else "",
            "page": str(state.page) if state.page > 1 else "",
        }
        return {key: value for key, value in params.items() if value}

    def cache_key(self) -> str:
        return f"{self.model}|{self.hardware}|{self.workload}|" + "&".join(
            f"{k}={v}" for k, v in self.to_params().items()
        )

    @property
    def filtered(self) -> bool:
        """Whether any filter (not sort or page) narrows the board."""
        ignored = {"sort", "dir", "page"}
        return any(key not in ignored for key in self.to_params())
