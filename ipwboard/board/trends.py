"""Trends: IPW over time with best-so-far frontiers, improvement factors and the Pareto front.

Everything is computed within one ranking context (dataset version x measurement scope): a trend
across measurement classes would mostly show who switched meters.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from submissions.models import Evaluation, Submission

from . import queries
from .state import BoardQuery

AXES = {"release": "model release date", "measured": "measurement date"}


def contexts() -> list[tuple[str, str, int]]:
    """(dataset param, scope, number of pairs) of every ranking context, most populated first."""
    rows = queries.filtered(BoardQuery()).values_list(
        "submission__dataset_version__dataset__slug",
        "submission__dataset_version__version",
        "submission__measurement_scope",
    )
    counts = Counter((f"{slug}@{version}", scope) for slug, version, scope in rows)
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
    evaluation: Evaluation


def points(dataset: str, scope: str) -> list[Point]:
    """The best result of every pair in the context (one query)."""
    out = []
    for e in queries.leaderboard(BoardQuery(dataset=dataset, scope=scope)):
        s: Submission = e.submission
        out.append(
            Point(
                label=f"{s.model.name} on {s.hardware.label}",
                hw_class=s.hardware.hw_class,
                released=s.model.release_date,
                measured=parse_date(getattr(e, "measured", None)),
                ipw=e.ipw,
                accuracy=e.accuracy,
                energy=e.mean_energy_j,
                synthetic=s.synthetic,
                evaluation=e,
            )
        )
    return out


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
