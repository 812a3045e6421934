"""Trends: IPW over time with best-so-far frontiers, improvement factors and the Pareto front.

Everything is computed within one ranking context (dataset version x measurement scope): a trend
across measurement classes would mostly show who switched meters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count

from . import queries
from .models import BoardEntry
from .pairs import PairKey
from .state import BoardQuery

AXES = {"release": "model release date", "measured": "measurement date"}


def contexts() -> list[tuple[str, str, int]]:
    """(dataset param, scope, number of pairs) of every ranking context, most populated first."""
    rows = (
        BoardEntry.objects.filter(best=True)  # one per ranked pair
        .values_list("dataset_version__dataset__slug", "dataset_version__version", "ranking_class")
        .annotate(pairs=Count("pk"))
        .order_by()
    )
    counts = {(f"{slug}@{version}", scope): n for slug, version, scope, n in rows}
    return [(d, s, n) for (d, s), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Point:
    label: str
    hw_class: str
    released: date | None
    measured: date | None
    ipw: float
    accuracy: float
    energy: float
    synthetic: bool
    pair: PairKey  # its page: ``pair.url`` (worked out for the few points a page links)


def points(dataset: str, scope: str) -> list[Point]:
    """The best result of every pair in the context (one query, plain values: a context can
    hold thousands of pairs and a chart needs a few numbers of each)."""
    rows = queries.filtered(BoardQuery(dataset=dataset, scope=scope)).values_list(
        "submission__model__name",
        "submission__hardware__label",
        "submission__hardware__hw_class",
        "submission__hardware__device_class",
        "submission__model__release_date",
        "measured",
        "ipw",
        "accuracy",
        "mean_energy_j",
        "submission__synthetic",
        "submission__model__slug",
        "submission__hardware__slug",
        "submission__dataset_version__dataset__slug",
        "submission__dataset_version__version",
        "submission__ranking_class",
    )
    return [
        Point(
            label=f"{model} on {hardware}",
            # The catalog's device class (datacenter, laptop ...); local/cloud for demo hardware.
            hw_class=device_class or hw_class,
            released=released,
            measured=parse_date(when),
            ipw=ipw,
            accuracy=accuracy,
            energy=energy,
            synthetic=synthetic,
            pair=PairKey(*key),
        )
        for (
            model,
            hardware,
            hw_class,
            device_class,
            released,
            when,
            ipw,
            accuracy,
            energy,
            synthetic,
            *key,
        ) in rows
    ]


def x_of(point: Point, axis: str) -> date | None:
    return point.released if axis == "release" else point.measured


def frontier(pts: Sequence[tuple[date, float]]) -> list[tuple[date, float]]:
    """Best-so-far: the running maximum, one step per improvement."""
    out: list[tuple[date, float]] = []
    best = float("-inf")
    for x, y in sorted(pts):
        if y > best:
            best = y
            out.append((x, y))
    return out


def best_by(front: Sequence[tuple[date, float]], moment: date) -> float | None:
    """The frontier's value at ``moment`` (None before its first point)."""
    value = None
    for x, y in front:
        if x <= moment:
            value = y
    return value


@dataclass(frozen=True)
class Improvement:
    hw_class: str
    start: float | None
    end: float | None

    @property
    def factor(self) -> float | None:
        if self.start and self.end:
            return self.end / self.start
        return None


def by_class(pts: Sequence[Point], axis: str) -> tuple[dict[str, list[dict[str, Any]]], dict]:
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    raw: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for p in pts:
        x = x_of(p, axis)
        if x is None:
            continue
        series[p.hw_class].append({"x": x.isoformat(), "ipw": p.ipw, "label": p.label})
        raw[p.hw_class].append((x, p.ipw))
    fronts = {name: frontier(values) for name, values in raw.items()}
    # Draw each frontier flat up to the latest point on the axis: "best so far" holds until beaten.
    latest = max((x for values in raw.values() for x, _ in values), default=None)
    drawn = {
        name: [*front, (latest, front[-1][1])]
        if front and latest and front[-1][0] < latest
        else front
        for name, front in fronts.items()
    }
    return dict(series), drawn


def improvements(
    fronts: dict[str, list[tuple[date, float]]], start_year: int, end_year: int
) -> list[Improvement]:
    """Best-so-far at the end of ``end_year`` over best-so-far at the end of ``start_year``."""
    return [
        Improvement(
            name,
            best_by(front, date(start_year, 12, 31)),
            best_by(front, date(end_year, 12, 31)),
        )
        for name, front in sorted(fronts.items())
    ]


def years(pts: Sequence[Point], axis: str) -> list[int]:
    return sorted({x.year for p in pts if (x := x_of(p, axis)) is not None})


def pareto_front(pts: Sequence[Point]) -> list[Point]:
    """Pairs no other pair beats on both accuracy (higher) and energy per query (lower)."""
    front: list[Point] = []
    best = float("-inf")
    for p in sorted(pts, key=lambda p: (p.energy, -p.accuracy)):
        if p.accuracy > best:
            best = p.accuracy
            front.append(p)
    return front
