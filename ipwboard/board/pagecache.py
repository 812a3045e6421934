"""Versioned caching of board pages and data, with stampede protection.

Every key includes the board version (``receivers.board_version()``), bumped whenever what the
board shows changes, so a bump retires every entry at once. After a bump the first request to miss
takes a short lock (``cache.add``) and rebuilds; the requests that arrive meanwhile get the
previous value (kept under a version-less "last" key) instead of all rebuilding at once, unless
that value predates a *strict* bump (a submission hidden, withdrawn or deleted: see
``receivers``), which must never be served again. Only a request that finds neither a value nor a
servable previous one builds without the lock.

Whole responses are cached for anonymous visitors only: a signed-in user's page carries their name
and a CSRF token in the navigation, so they always get a freshly rendered page (around cached data
where the view has some). Nothing here ever serves a signed-in user's response to anyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from .receivers import board_version, floor

T = TypeVar("T")

TTL = 24 * 3600
LOCK_TTL = 15  # seconds: how long one rebuild may keep the others on the previous version
# Request headers that change what a board view renders (htmx swaps render fragments).
_VARY_HEADERS = (
    "HTTP_HX_REQUEST",
    "HTTP_HX_BOOSTED",
    "HTTP_HX_HISTORY_RESTORE_REQUEST",
    "HTTP_HX_TARGET",
)
Frozen = tuple[int, bytes, list[tuple[str, str]]]


def versioned(name: str, ident: str, build: Callable[[], T], ttl: int = TTL) -> T:
    """``build()``, cached under the board version; ``name`` is a namespace, ``ident`` the rest."""
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    version = board_version()
    key = f"board:{name}:{version}:{digest}"
    found = cache.get(key)
    if found is not None:
        return found
    last_key = f"board:{name}:last:{digest}"
    lock_key = f"board:{name}:lock:{version}:{digest}"
    locked = cache.add(lock_key, 1, LOCK_TTL)
    if not locked:
        # Someone else is rebuilding this version: serve the previous one meanwhile, if allowed.
        previous = cache.get(last_key)
        if previous is not None and previous[0] >= floor():
            return previous[1]
    try:
        value = build()
        cache.set_many({key: value, last_key: (version, value)}, ttl)
    finally:
        if locked:
            cache.delete(lock_key)
    return value


def _freeze(response: HttpResponse) -> Frozen:
    # Headers the view set (Content-Type, HX-Push-Url, ...); never cookies, which live apart.
    return response.status_code, response.content, list(response.headers.items())


def _thaw(frozen: Frozen) -> HttpResponse:
    status, content, headers = frozen
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    return response


def request_ident(request: HttpRequest) -> str:
    """What a page depends on: host (absolute URLs), path, the full query string, htmx headers."""
    parts = [
        request.scheme or "",
        request.get_host(),
        request.path,
        request.META.get("QUERY_STRING", ""),
    ]
    parts += [request.META.get(header, "") for header in _VARY_HEADERS]
    return "|".join(parts)


def cacheable(request: HttpRequest, *, everyone: bool = False) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    return everyone or not request.user.is_authenticated


def cached_response(
    request: HttpRequest,
    name: str,
    build: Callable[[], HttpResponse],
    *,
    everyone: bool = False,
) -> HttpResponse:
    """The response of ``build()``; cached per board version for anonymous GETs.

    ``everyone=True`` is for responses with nothing user-specific in them at all (badges).
    """
    if not cacheable(request, everyone=everyone):
        response = build()
    else:
        response = _thaw(
            versioned(f"resp:{name}", request_ident(request), lambda: _freeze(build()))
        )
    if not everyone:
        patch_vary_headers(response, ("HX-Request", "Cookie"))
    return response
