"""Reasoning and tools: IPW against the reasoning tokens a pair spends per query (and, on agentic
rankings, the tool calls it makes per task), one chart per ranking (dataset version x ranking
class, as the leaderboard groups them: rankings never mix measurement classes).

A pair is its best result, the read model's flag (``BoardEntry.best``), so what is public and
which result stands for a pair are decided where the leaderboard decides them. A pair whose best
run cannot tell reasoning tokens apart (``Evaluation.mean_reasoning_tokens`` is null: a thinking
model's output tokens include its hidden reasoning, and only some runs split them) is not plotted
but counted, so a chart never looks more complete than it is.

Two queries whatever the board's size: the counts per ranking, and the few figures of each pair
that reports something to plot. Nothing per query is read: each point is a run's mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from evaluator import measurement_classes as mc

from . import pagecache
from .models import BoardEntry
from .pairs import PairKey


@dataclass(frozen=True)
class Point:
    """One pair's best result, with what it reports of reasoning and tools."""

    model: str
    hardware: str
    device_class: str  # the catalog's (datacenter, laptop ...); local/cloud for demo hardware
    ipw: float
    ipw_low: float
    ipw_high: float
    accuracy: float
    reasoning_tokens: float | None  # mean hidden reasoning tokens per query (per task if agentic)
    tool_calls: float | None  # mean tool calls per task (agentic runs)
    turns: float | None  # mean model calls per task (agentic runs)
    synthetic: bool
    pair: PairKey

    @property
    def label(self) -> str:
        return f"{self.model} on {self.hardware}"


@dataclass
class Ranking:
    dataset: str  # "slug@version"
    scope: str  # the ranking class
    pairs: int  # ranked pairs, with or without anything to plot
    with_reasoning: int  # pairs whose best result reports reasoning tokens
    with_tools: int  # pairs whose best result reports tool calls
    points: list[Point] = field(default_factory=list)

    @property
    def agentic(self) -> bool:
        return mc.ranking_class_parts(self.scope)[3] == "agentic"

    @property
    def reasoning(self) -> list[Point]:
        """The points of the reasoning chart, fewest reasoning tokens first."""
        shown = [p for p in self.points if p.reasoning_tokens is not None]
        return sorted(shown, key=lambda p: (p.reasoning_tokens, -p.ipw, p.label))

    @property
    def tools(self) -> list[Point]:
        """The points of the tool-call chart: agentic rankings only (a single-turn run makes no
        tool calls, whatever a column says)."""
        if not self.agentic:
            return []
        shown = [p for p in self.points if p.tool_calls is not None]
        return sorted(shown, key=lambda p: (p.tool_calls, -p.ipw, p.label))

    @property
    def plotted(self) -> bool:
        return bool(self.reasoning or self.tools)

    @property
    def synthetic(self) -> bool:
        """Some plotted point comes from a simulated run (demo data)."""
        return any(p.synthetic for p in self.reasoning + self.tools)


_CONTEXT = ("dataset_version__dataset__slug", "dataset_version__version", "ranking_class")


def _counts() -> dict[tuple[str, str], Ranking]:
    rows = (
        BoardEntry.objects.filter(best=True)  # one per ranked pair
        .values_list(*_CONTEXT)
        .annotate(
            pairs=Count("pk"),
            # COUNT(column) counts the non-null values: the pairs that report one.
            reasoning=Count("evaluation__mean_reasoning_tokens"),
            tools=Count("evaluation__mean_tool_calls"),
        )
        .order_by()
    )
    return {
        (f"{slug}@{version}", scope): Ranking(f"{slug}@{version}", scope, pairs, reasoning, tools)
        for slug, version, scope, pairs, reasoning, tools in rows
    }


def _points() -> Iterable[tuple[tuple[str, str], Point]]:
    rows = (
        BoardEntry.objects.filter(best=True)
        .filter(
            Q(evaluation__mean_reasoning_tokens__isnull=False)
            | Q(evaluation__mean_tool_calls__isnull=False)
        )
        .values_list(
            *_CONTEXT,
            "model__name",
            "model__slug",
            "hardware__label",
            "hardware__slug",
            "hardware__device_class",
            "hardware__hw_class",
            "ipw",
            "ipw_low",
            "ipw_high",
            "evaluation__accuracy",
            "evaluation__mean_reasoning_tokens",
            "evaluation__mean_tool_calls",
            "evaluation__mean_turns",
            "submission__synthetic",
        )
        .order_by()
    )
    for slug, version, scope, model, model_slug, hardware, hw_slug, device, hw_class, *rest in rows:
        ipw, low, high, accuracy, reasoning, tools, turns, synthetic = rest
        yield (
            (f"{slug}@{version}", scope),
            Point(
                model,
                hardware,
                device or hw_class,
                ipw,
                low,
                high,
                accuracy,
                reasoning,
                tools,
                turns,
                synthetic,
                PairKey(model_slug, hw_slug, slug, version, scope),
            ),
        )


def compute() -> list[Ranking]:
    """Every ranking, most pairs first (as the leaderboard and trends order them)."""
    rankings = _counts()
    for key, point in _points():
        if key in rankings:  # always: both queries read the same best entries
            rankings[key].points.append(point)
    return sorted(rankings.values(), key=lambda r: (-r.pairs, r.dataset, r.scope))


def rankings() -> list[Ranking]:
    """``compute()``, cached under the board version (the page and the API share it)."""
    return pagecache.versioned("data:reasoning", "", compute)


def point_dict(point: Point) -> dict[str, Any]:
    return {
        "model": point.model,
        "hardware": point.hardware,
        "device_class": point.device_class,
        "pair": point.pair.url(),
        "ipw": point.ipw,
        "ipw_low": point.ipw_low,
        "ipw_high": point.ipw_high,
        "accuracy": point.accuracy,
        "reasoning_tokens": point.reasoning_tokens,
        "tool_calls": point.tool_calls,
        "turns": point.turns,
        "synthetic": point.synthetic,
    }


def ranking_dict(ranking: Ranking) -> dict[str, Any]:
    return {
        "dataset": ranking.dataset,
        "ranking_class": ranking.scope,
        "agentic": ranking.agentic,
        "pairs": ranking.pairs,
        "pairs_with_reasoning_tokens": ranking.with_reasoning,
        # Tool calls are charted for agentic rankings only; elsewhere they are not counted.
        "pairs_with_tool_calls": ranking.with_tools if ranking.agentic else None,
        "synthetic": ranking.synthetic,
        "points": [
            point_dict(p)
            for p in sorted(ranking.points, key=lambda p: (-p.ipw, p.label))
            if p.reasoning_tokens is not None or (ranking.agentic and p.tool_calls is not None)
        ],
    }
