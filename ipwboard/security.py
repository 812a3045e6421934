"""Security headers Django 5.2 does not set itself: a Content-Security-Policy with no inline script.

Scripts come only from our own static files (htmx, plotly.js and board.js are vendored); chart data
travels in ``<script type="application/json">`` blocks, which the browser does not execute. Styles
allow 'unsafe-inline' because plotly.js positions its SVG with inline style attributes.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The API docs page (Swagger UI) ships its own inline bootstrap script.
RELAXED_PREFIXES = ("/api/v1/docs/", "/api/v1/redoc/")


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(RELAXED_PREFIXES):
            response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response
