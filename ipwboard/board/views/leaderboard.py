"""The leaderboard, and the model and hardware pages built on the same ranked table.

One view and one template serve the page and its htmx fragment. The table's HTML is the same for
every visitor, so it is cached under the board version (bumped whenever a submission is scored,
hidden or withdrawn) and the filter state (the canonical query string): a warm page costs no query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.http import urlencode
from django_htmx.http import push_url

from submissions.models import AIModel, Hardware

from .. import queries, vocab
from ..receivers import board_version
from ..state import HEADERS, BoardQuery

TEMPLATE = "board/leaderboard.html"
TABLE_TTL = 24 * 3600


def is_fragment(request: HttpRequest) -> bool:
    """An htmx swap of part of the page (not a boosted navigation, not a history restore)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def filter_options() -> dict[str, Any]:
    key = f"board:options:{board_version()}"
    options = cache.get(key)
    if options is None:
        options = queries.filter_options()
        cache.set(key, options, TABLE_TTL)
    return options


def table_html(request: HttpRequest, query: BoardQuery, base_path: str) -> str:
    """The rendered ranked table of ``query`` (cached per board version and state)."""
    digest = hashlib.sha256(f"{base_path}|{query.cache_key()}".encode()).hexdigest()[:32]
    key = f"board:table:{board_version()}:{digest}"
    html = cache.get(key)
    if html is None:
        page = queries.board_page(query)
        context = {
            "query": query,
            "page": page,
            "headers": HEADERS,
            "base_path": base_path,
            "scopes": vocab.SCOPES,
        }
        html = render_to_string(f"{TEMPLATE}#table", context, request=None)
        cache.set(key, html, TABLE_TTL)
    return html


def _respond(
    request: HttpRequest,
    query: BoardQuery,
    template: str,
    extra: Callable[[], dict[str, Any]],
    *,
    has_form: bool = False,
) -> HttpResponse:
    fragment = is_fragment(request)
    # Anonymous visitors all get the same bytes, so the whole response is cached for them; signed-in
    # users get a fresh page shell (their name, a CSRF token) around the cached table.
    anonymous = not request.user.is_authenticated
    digest = hashlib.sha256(f"{request.path}|{query.cache_key()}".encode()).hexdigest()[:32]
    page_key = f"board:page:{board_version()}:{'f' if fragment else 'p'}:{digest}"
    if anonymous and (cached := cache.get(page_key)) is not None:
        return _finish(HttpResponse(cached), request, query, fragment)
    table = table_html(request, query, request.path)
    if fragment:
        # The filter form's hidden sort inputs follow the table (out-of-band), so the next filter
        # change keeps the sort the user chose by clicking a column header.
        oob = (
            render_to_string(f"{TEMPLATE}#sort-state", {"query": query, "oob": True})
            if has_form
            else ""
        )
        response = HttpResponse(table + oob)
    else:
        response = render(request, template, {**extra(), "query": query, "table": table})
    if anonymous:
        cache.set(page_key, response.content.decode(), TABLE_TTL)
    return _finish(response, request, query, fragment)


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
        return {"options": filter_options(), "scopes": vocab.SCOPES}

    return _respond(request, query, TEMPLATE, extra, has_form=True)


def model_page(request: HttpRequest, slug: str) -> HttpResponse:
    model = get_object_or_404(AIModel, slug=slug)
    query = replace(BoardQuery.from_params(request.GET), model=slug)
    return _respond(request, query, "board/model.html", lambda: {"model": model})


def hardware_page(request: HttpRequest, slug: str) -> HttpResponse:
    hardware = get_object_or_404(Hardware, slug=slug)
    query = replace(BoardQuery.from_params(request.GET), hardware=slug)
    return _respond(request, query, "board/hardware.html", lambda: {"hardware": hardware})
