"""A small HTTP client for the IPW Board API that turns every failure into a CliError.

Transient failures are retried: network errors, HTTP 503 (storage or database briefly down) and
HTTP 429 (rate limited), up to ``attempts`` tries, waiting ``max(Retry-After, 2**attempt)`` seconds
(capped at 30) in between. A POST that may have reached the server is only re-sent where that is
safe: bundle uploads (the server's replay check recognises the second copy) and nothing else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import httpx

DEFAULT_ATTEMPTS = 5
MAX_WAIT_S = 30.0
RETRY_STATUSES = frozenset({429, 503})
REPLAY_CODE = "bundle.replay.bundle"
# Errors raised before a single byte of the request left: always safe to send again.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class CliError(Exception):
    """An error the user can act on. ``exit_code``: 2 = user/input, 3 = network/server."""

    def __init__(self, code: str, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


class _Retryable(Exception):
    """One attempt failed in a way worth retrying; ``error`` is what the user sees if it was the
    last one."""

    def __init__(self, error: CliError, reason: str, retry_after: float = 0.0) -> None:
        super().__init__(error.message)
        self.error = error
        self.reason = reason
        self.retry_after = retry_after


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def default_attempts() -> int:
    """``IPWBOARD_RETRY_ATTEMPTS`` (1 turns retries off); 5 otherwise."""
    try:
        return max(1, int(os.environ.get("IPWBOARD_RETRY_ATTEMPTS", DEFAULT_ATTEMPTS)))
    except ValueError:
        return DEFAULT_ATTEMPTS


class ApiClient:
    def __init__(
        self,
        server: str,
        token: str = "",
        timeout: float = 60.0,
        *,
        attempts: int | None = None,
        sleep: Callable[[float], None] | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "ipwboard-cli/1"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout)
        self.attempts = attempts if attempts is not None else default_attempts()
        self._sleep = sleep or _sleep
        self.notify = notify  # human mode: "retrying in N s (reason)" goes here (stderr)

    # --- retries ----------------------------------------------------------------------------------

    def _with_retries(self, attempt: Callable[[int], Any], *, resend_safe: bool = True) -> Any:
        """Run ``attempt(n)`` (n = 1, 2, ...) until it returns, raises a CliError, or fails
        retryably ``attempts`` times. ``resend_safe=False``: a request that may have reached the
        server is not sent again (only connection failures and 429/503 answers are retried)."""
        for n in range(1, self.attempts + 1):
            try:
                return attempt(n)
            except httpx.TransportError as exc:
                error = CliError(
                    "network.unreachable",
                    f"Cannot reach {self.server}: {exc or type(exc).__name__}. "
                    "Check --server / IPWBOARD_SERVER.",
                    exit_code=3,
                )
                if not resend_safe and not isinstance(exc, _UNSENT):
                    raise error from exc
                failure = _Retryable(error, type(exc).__name__)
            except _Retryable as retryable:
                failure = retryable
            if n == self.attempts:
                error = failure.error
                if self.attempts > 1:
                    error.message += f" (gave up after {self.attempts} attempts)"
                error.exit_code = 3
                raise error
            wait = min(MAX_WAIT_S, max(failure.retry_after, 2.0**n))
            if self.notify is not None:
                self.notify(f"retrying in {wait:.0f} s ({failure.reason})")
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _check(response: httpx.Response) -> httpx.Response:
        if response.status_code in RETRY_STATUSES:
            error = _api_error(response)
            reason = f"HTTP {response.status_code} {error.code}"
            raise _Retryable(error, reason, _retry_after(response))
        if response.status_code >= 400:
            raise _api_error(response)
        return response

    # --- requests ---------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, resend_safe: bool = True, **kwargs: Any) -> Any:
        url = f"/api/v1/{path.lstrip('/')}"

        def attempt(n: int) -> Any:
            response = self._check(self._http.request(method, url, **kwargs))
            return response.json() if response.content else None

        return self._with_retries(attempt, resend_safe=resend_safe)

    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params or None)

    def post(
        self, path: str, json: dict[str, Any] | None = None, *, idempotent: bool = False
    ) -> Any:
        """Not every POST is idempotent (a second challenge, a second token): unless the caller
        says it is, one the server may already have acted on is never sent again."""
        return self._request("POST", path, json=json, resend_safe=idempotent)

    def delete(self, path: str) -> Any:
        return self._request("DELETE", path)

    def upload(
        self,
        path: Path,
        data: dict[str, str] | None = None,
        wrap: Callable[[BinaryIO], Any] | None = None,
    ) -> Any:
        """Stream a bundle as multipart field ``bundle``. httpx reads file objects in chunks:
        large bundles never sit in memory. Every attempt re-opens the file and calls ``wrap`` on
        it (e.g. a progress reader), so a retry sends the whole bundle again from byte 0.

        If a retry is refused as a replay of this very bundle, the first attempt was stored but
        its answer lost on the way back: the submission it created is returned."""

        def attempt(n: int) -> Any:
            with path.open("rb") as fh:
                body = wrap(fh) if wrap is not None else fh
                response = self._http.post(
                    "/api/v1/submissions/",
                    files={"bundle": (path.name, body, "application/zip")},
                    data=data,
                )
            if n > 1 and response.status_code == 409:
                existing = _replayed_submission(response)
                if existing:
                    return self._check(self._http.get(f"/api/v1/submissions/{existing}/")).json()
            return self._check(response).json()

        return self._with_retries(attempt)

    def get_json(self, url: str) -> Any:
        """GET a JSON document outside /api/v1/ (e.g. the export manifest)."""
        return self._with_retries(
            lambda n: self._check(self._http.get(url, follow_redirects=True)).json()
        )

    def download(self, url: str, out: Path) -> None:
        def attempt(n: int) -> None:
            with self._http.stream("GET", url, follow_redirects=True) as response:
                if response.status_code >= 400:
                    response.read()
                    self._check(response)
                with out.open("wb") as fh:
                    for chunk in response.iter_bytes(1024 * 1024):
                        fh.write(chunk)

        self._with_retries(attempt)


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:  # an HTTP date: fall back to the exponential wait
        return 0.0


def _replayed_submission(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return ""
    if error.get("code") != REPLAY_CODE:
        return ""
    return str(error.get("submission_id") or "")


def _api_error(response: httpx.Response) -> CliError:
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code") or f"http.{response.status_code}"
    message = error.get("message") or response.reason_phrase
    if error.get("file"):
        message += f" (file {error['file']}"
        message += f", row {error['row']}" if error.get("row") is not None else ""
        message += f", field {error['field']}" if error.get("field") else ""
        message += ")"
    if response.status_code == 401:
        message += " Run `ipwboard login` or pass --token."
    if response.status_code == 429:
        message += f" Retry after {response.headers.get('Retry-After', '?')} s."
    return CliError(code, message, 3 if response.status_code >= 500 else 2)
