"""The leaderboard, and the model and hardware pages built on the same ranked table.

One view and one template serve the page and its htmx fragment. The table's HTML is the same for
every visitor, so it is cached under the board version (bumped whenever a submission is scored,
hidden or withdrawn) and the filter state (the canonical query string): a warm page costs no query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.http import urlencode
from django_htmx.http import push_url

from submissions.models import AIModel, Hardware, Submission

from .. import columns, pagecache, queries, vocab
from ..state import BoardQuery

TEMPLATE = "board/leaderboard.html"
TABLE_TTL = 24 * 3600


def is_fragment(request: HttpRequest) -> bool:
    """An htmx swap of part of the page (not a boosted navigation, not a history restore)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def filter_options() -> dict[str, Any]:
    return pagecache.versioned("options", "", queries.filter_options, TABLE_TTL)


def table_html(
    request: HttpRequest, query: BoardQuery, base_path: str, place: str = "table"
) -> str:
    """The rendered ranked table of ``query`` (cached per board version and state), with the
    registry's metric cells of ``place`` ("table", or "agentic" on the agentic track's page)."""

    def build() -> str:
        context = {
            "query": query,
            "page": queries.board_page(query),
            "headers": columns.headers(place),
            "cells": columns.on(place),
            "base_path": base_path,
            "scopes": vocab.SCOPES,
        }
        return render_to_string(f"{TEMPLATE}#table", context, request=None)

    return pagecache.versioned(
        "table", f"{base_path}|{place}|{query.cache_key()}", build, TABLE_TTL
    )


def sort_options() -> list[tuple[str, str, str]]:
    """(form value, sort key, label) of every sort the registry offers; the default sorts as ""."""
    return [
        ("" if key == BoardQuery.sort else key, key, column.label)
        for key, column in columns.sorts().items()
    ]


def _respond(
    request: HttpRequest,
    query: BoardQuery,
    template: str,
    extra: Callable[[], dict[str, Any]],
    *,
    has_form: bool = False,
    place: str = "table",
) -> HttpResponse:
    fragment = is_fragment(request)

    # Anonymous visitors all get the same bytes, so the whole response is cached for them; signed-in
    # users get a fresh page shell (their name, a CSRF token) around the cached table.
    def build() -> bytes:
        table = table_html(request, query, request.path, place)
        if fragment:
            # The filter form's hidden sort inputs follow the table (out-of-band), so the next
            # filter change keeps the sort the user chose by clicking a column header.
            oob = (
                render_to_string(
                    f"{TEMPLATE}#sort-state",
                    {"query": query, "oob": True, "sort_options": sort_options()},
                )
                if has_form
                else ""
            )
            return (table + oob).encode()
        return render(request, template, {**extra(), "query": query, "table": table}).content

    if pagecache.cacheable(request):
        ident = f"{'f' if fragment else 'p'}|{request.path}|{query.cache_key()}"
        body = pagecache.versioned("page", ident, build, TABLE_TTL)
    else:
        body = build()
    return _finish(HttpResponse(body), request, query, fragment)


def _finish(
    response: HttpResponse, request: HttpRequest, query: BoardQuery, fragment: bool
) -> HttpResponse:
    if fragment:
        # The canonical URL (defaults dropped), whatever the form serialised: that is the permalink.
        params = urlencode(query.to_params())
        push_url(response, f"{request.path}?{params}" if params else request.path)
    response["Vary"] = "HX-Request, Cookie"
    return response


def leaderboard(request: HttpRequest) -> HttpResponse:
    query = BoardQuery.from_params(request.GET)

    def extra() -> dict[str, Any]:
        return {
            "options": filter_options(),
            "scopes": vocab.SCOPES,
            "sort_options": sort_options(),
        }

    return _respond(request, query, TEMPLATE, extra, has_form=True)


def model_page(request: HttpRequest, slug: str) -> HttpResponse:
    model = get_object_or_404(AIModel, slug=slug)
    query = replace(BoardQuery.from_params(request.GET), model=slug)
    return _respond(request, query, "board/model.html", lambda: {"model": model})


def hardware_page(request: HttpRequest, slug: str) -> HttpResponse:
    hardware = get_object_or_404(Hardware, slug=slug)
    query = replace(BoardQuery.from_params(request.GET), hardware=slug)

    def extra() -> dict[str, Any]:
        # Only measured runs wait for the catalog; a demo's fictional hardware never does.
        waiting = Submission.objects.filter(hardware=hardware, catalog_pending=True).exists()
        return {"hardware": hardware, "waiting": waiting}

    return _respond(request, query, "board/hardware.html", extra)


def agentic_page(request: HttpRequest) -> HttpResponse:
    """The agentic track: rankings of agentic (``ipw run``) results only, with the registry's
    agentic columns (per task: energy with every turn and tool call, turns, tool calls)."""
    query = replace(BoardQuery.from_params(request.GET), workload="agentic")
    return _respond(request, query, "board/agentic.html", dict, place="agentic")
