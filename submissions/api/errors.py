"""One JSON error shape for the whole API: ``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from evaluator.errors import BundleError

from ..storage import StorageUnavailable

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5

_DEFAULT_CODES = {
    exceptions.NotAuthenticated: "auth.required",
    exceptions.AuthenticationFailed: "auth.failed",
    exceptions.PermissionDenied: "permission.denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method.not_allowed",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "request.invalid",
    exceptions.ParseError: "request.malformed",
    exceptions.UnsupportedMediaType: "request.unsupported_media_type",
}


def error_response(code: str, message: str, http_status: int, **extra: Any) -> Response:
    return Response({"error": {"code": code, "message": message, **extra}}, status=http_status)


def unavailable_response(exc: Exception) -> Response | None:
    """A retryable 503 (JSON, with Retry-After) when storage or the database is briefly down, so
    clients retry instead of seeing an HTML 500. None for anything else."""
    if isinstance(exc, StorageUnavailable) or _s3_outage(exc):
        code, message = "storage.unavailable", "File storage is unavailable; retry shortly."
    elif isinstance(exc, OperationalError | InterfaceError):
        code, message = "service.unavailable", "The database is unavailable; retry shortly."
    else:
        return None
    log.warning("request refused, %s: %s", code, exc)
    response = error_response(code, message, 503, retry_after_s=RETRY_AFTER_S)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _s3_outage(exc: Exception) -> bool:
    """boto3 errors the direct-upload service raises as they are: S3 unreachable, or answering
    5xx / SlowDown. A 4xx (no such upload, access denied) is not an outage and stays a 500."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return False
    if isinstance(exc, BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return int(status) >= 500 or exc.response.get("Error", {}).get("Code") == "SlowDown"
    return False


class RetryableUnavailable:
    """View mixin (list it before the DRF base): storage or database outages answer with
    :func:`unavailable_response` instead of a 500. Used by every upload endpoint."""

    def handle_exception(self, exc: Exception) -> Response:
        handled = unavailable_response(exc)
        if handled is not None:
            return handled
        return super().handle_exception(exc)  # type: ignore[misc, no-any-return]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from ..services.accounts import ActionError
    from ..services.intake import ReplayBundleError

    if isinstance(exc, ActionError):
        return error_response(exc.code, exc.message, exc.http_status)
    if isinstance(exc, BundleError):
        body = exc.to_dict()
        request = context.get("request")
        owner = getattr(getattr(request, "user", None), "pk", None)
        if isinstance(exc, ReplayBundleError) and owner is not None and owner == exc.owner_id:
            # Only to its owner: their retry recovers the submission a lost response created.
            body["submission_id"] = str(exc.submission_id)
        http = status.HTTP_409_CONFLICT if exc.code.startswith("bundle.replay") else 400
        if exc.code == "upload.too_large":
            http = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        return Response({"error": body}, status=http)
    # DRF turns Django's own 404/403 into its exceptions inside its handler; do it first so the
    # codes below apply to them too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DEFAULT_CODES.items() if isinstance(exc, cls)), "request.error")
    detail = getattr(exc, "detail", None)
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        if isinstance(codes, str) and "." in codes:
            code = codes  # our own dotted codes passed as ``code=`` survive
    if isinstance(detail, dict | list):
        message = "The request is invalid; see 'fields'."
        payload: dict[str, Any] = {"code": code, "message": message, "fields": detail}
    else:
        payload = {"code": code, "message": str(detail) if detail else "Error."}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        payload["retry_after_s"] = int(exc.wait)
    response.data = {"error": payload}
    return response


# --- Django's last-resort handlers (ipwboard/urls.py): JSON under /api/, HTML pages elsewhere ----


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: an unknown URL under /api/ answers in the API's error shape."""
    if _is_api(request):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "No API endpoint at this URL."}},
            status=404,
        )
    return defaults.page_not_found(request, exception or Http404())


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: an unhandled exception under /api/ is JSON (no HTML for API clients; the
    traceback is logged by Django and never shown)."""
    if _is_api(request):
        return JsonResponse(
            {
                "error": {
                    "code": "internal.error",
                    "message": "The server hit an unexpected error; it has been logged.",
                }
            },
            status=500,
        )
    return defaults.server_error(request)
