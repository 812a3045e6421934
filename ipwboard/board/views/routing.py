"""/routing/: what could run locally, from the stored analysis (never computed by a request)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import pagecache, routing_view
from ..routing import FLOORS, LOCAL_SETS

DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", routing_view.to_csv),
    "parquet": ("application/vnd.apache.parquet", routing_view.to_parquet),
}


def routing_page(request: HttpRequest) -> HttpResponse:
    """The analysis for the URL's choices (dataset, scope, local, floor: a permalink); with
    ``download=csv|parquet`` the same figures as a file."""
    return pagecache.cached_response(request, "routing", lambda: _build(request))


def _build(request: HttpRequest) -> HttpResponse:
    known = routing_view.contexts()
    choice = routing_view.choose(request.GET, known)
    row = routing_view.stored(choice) if choice else None
    download = request.GET.get("download", "")
    if download in DOWNLOADS:
        if row is None:
            return HttpResponse("No routing analysis for this choice.", status=404)
        content_type, encode = DOWNLOADS[download]
        response = HttpResponse(encode(routing_view.export_rows(row.result)), content_type)
        slug = f"{choice.dataset}-{choice.scope}-{choice.local}".replace("@", "-v")  # type: ignore[union-attr]
        response["Content-Disposition"] = f'attachment; filename="routing-{slug}.{download}"'
        return response
    context: dict[str, Any] = {"contexts": known, "choice": choice}
    if choice is not None:
        # Every link carries all four choices: the address is the permalink.
        context.update(
            {
                "permalink": choice.params(),
                "context_links": [
                    (d, s, n, choice.params(dataset=d, scope=s)) for d, s, n in known
                ],
                "local_links": [(s, choice.params(local=s.key)) for s in LOCAL_SETS],
                "floor_links": [(k, choice.params(floor=k)) for k in FLOORS],
            }
        )
    if row is not None:
        result = row.result
        shown = routing_view.policies(result, choice.floor)  # type: ignore[union-attr]
        by_id = {p["kind"] if p["kind"] != "baseline" else p["id"]: p for p in shown}
        context.update(
            {
                "analysis": row,
                "result": result,
                "policies": shown,
                "oracle": by_id.get("oracle"),
                "floor_policy": by_id.get("floor"),
                "coverage": result["coverage"],
                "best_local_label": (
                    result["pairs"][result["coverage"]["best_local_pair"]]["label"]
                    if result["coverage"]["best_local_pair"] is not None
                    else None
                ),
                "pairs": sorted(result["pairs"], key=lambda p: -p["accuracy"]),
                "coverage_chart": routing_view.coverage_chart(result),
                "tradeoff_chart": routing_view.tradeoff_chart(result, shown),
                "local_set": next(s for s in LOCAL_SETS if s.key == choice.local),  # type: ignore[union-attr]
            }
        )
    return render(request, "board/routing.html", context)
