"""/reasoning/: IPW against reasoning tokens per query (and tool calls per task on agentic
rankings), one chart per ranking, from the read model's best result of each pair."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import pagecache, reasoning
from ..charts import Chart
from ..charts_reasoning import reasoning_chart, tools_chart


@dataclass(frozen=True)
class Section:
    ranking: reasoning.Ranking
    reasoning_chart: Chart | None
    tools_chart: Chart | None


def reasoning_page(request: HttpRequest) -> HttpResponse:
    return pagecache.cached_response(request, "reasoning", lambda: _build(request))


def _build(request: HttpRequest) -> HttpResponse:
    found = reasoning.rankings()
    sections = [
        Section(r, reasoning_chart(r, f"reasoning-{i}"), tools_chart(r, f"tools-{i}"))
        for i, r in enumerate((r for r in found if r.plotted), start=1)
    ]
    context = {
        "any_rankings": bool(found),
        "sections": sections,
        # Rankings with nothing to plot are named, with their counts, not silently left out.
        "unplotted": [r for r in found if not r.plotted],
        "any_synthetic": any(s.ranking.synthetic for s in sections),
    }
    return render(request, "board/reasoning.html", context)
