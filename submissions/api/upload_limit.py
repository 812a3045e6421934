"""Refuse oversized request bodies before they are read, and stop an upload at the limit.

Django parses a multipart body (spooling files to a temporary file) the first time a view touches
``request.FILES``, so a check in the view comes after the whole body has been read: a client
announcing 2.5 GiB would keep a web thread reading for as long as it likes. Instead:

- ``RequestSizeLimitMiddleware`` (first in ``MIDDLEWARE``) answers 413 ``upload.too_large`` when
  ``Content-Length`` announces more than the largest upload plus its multipart envelope, and 411
  ``upload.length_required`` for a chunked body (Django's WSGI handler reads a body without a
  Content-Length as empty; saying so beats "no bundle in the upload"). Nothing is read.
- ``LimitedUploadHandler`` counts the file bytes as they arrive and stops the parse (without
  draining the rest) once a file passes ``IPWBOARD_MAX_UPLOAD_BYTES``: whatever a server hands
  Django, no more than the limit is read and nothing reaches the storage backend.

After the early answer, gunicorn drains at most 64 KiB of the unread body before it closes the
connection (Django's development server drains the announced length after the answer is sent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import codes

# Room for the multipart envelope around the bundle: boundaries, part headers, the other fields.
MULTIPART_ALLOWANCE = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def max_request_bytes() -> int:
    return int(settings.IPWBOARD_MAX_UPLOAD_BYTES) + MULTIPART_ALLOWANCE


def too_large_message(what: str) -> str:
    return (
        f"{what}; the largest bundle this server accepts is "
        f"{settings.IPWBOARD_MAX_UPLOAD_BYTES} bytes (IPWBOARD_MAX_UPLOAD_BYTES). Nothing was "
        "stored."
    )


def _refusal(request: HttpRequest, code: str, message: str, status: int) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    else:
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    # Answered before the rest of the middleware (which would add it): a known length lets the
    # client read the answer while its body is still unsent.
    response["Content-Length"] = str(len(response.content))
    return response


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in BODY_METHODS:
            refused = self._refuse(request)
            if refused is not None:
                return refused
            # Before anything parses the body: the first handler sees every chunk first.
            request.upload_handlers.insert(0, LimitedUploadHandler(request))
        return self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        raw = request.META.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in str(request.META.get("HTTP_TRANSFER_ENCODING", "")).lower()
        if not raw and chunked:
            return _refusal(
                request,
                codes.UPLOAD_LENGTH_REQUIRED,
                "Send the request with a Content-Length header: this server does not read "
                "chunked request bodies (`ipwboard submit` sets it; so do curl -F and httpx).",
                411,
            )
        try:
            announced = int(raw)
        except ValueError:
            return None  # Django reads such a body as empty
        if announced > max_request_bytes():
            message = too_large_message(f"The request announces {announced} bytes")
            return _refusal(request, codes.UPLOAD_TOO_LARGE, message, 413)
        return None


class LimitedUploadHandler(FileUploadHandler):
    """Counts each uploaded file's bytes and stops the whole parse past the limit.

    It only counts (returns every chunk unchanged to the handlers after it, which store it) and
    marks the request, so the view can answer 413 ``upload.too_large``: see ``exceeded()``."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request)
        self.received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.IPWBOARD_MAX_UPLOAD_BYTES:
            self.request._upload_too_large = True  # type: ignore[union-attr]
            # connection_reset: Django stops reading and does not drain the rest of the body.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file


def exceeded(request: Any) -> bool:
    """Whether ``LimitedUploadHandler`` stopped this request's upload (DRF or Django request)."""
    django_request = getattr(request, "_request", request)
    return bool(getattr(django_request, "_upload_too_large", False))
