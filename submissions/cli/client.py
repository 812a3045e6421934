"""A small HTTP client for the IPW Board API that turns every failure into a CliError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx


class CliError(Exception):
    """An error the user can act on. ``exit_code``: 2 = user/input, 3 = network/server."""

    def __init__(self, code: str, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


class ApiClient:
    def __init__(self, server: str, token: str = "", timeout: float = 60.0) -> None:
        self.server = server.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "ipwboard-cli/1"}
        if token:
            headers["Authorization"] = f"Token {token}"
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, f"/api/v1/{path.lstrip('/')}", **kwargs)
        except httpx.TransportError as exc:
            raise CliError(
                "network.unreachable",
                f"Cannot reach {self.server}: {exc}. Check --server / IPWBOARD_SERVER.",
                exit_code=3,
            ) from exc
        if response.status_code >= 400:
            raise _api_error(response)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params or None)

    def post(self, path: str, json: dict[str, Any] | None = None) -> Any:
        return self._request("POST", path, json=json)

    def delete(self, path: str) -> Any:
        return self._request("DELETE", path)

    def upload(self, path: Path, stream: Any = None, data: dict[str, str] | None = None) -> Any:
        """Stream a bundle as multipart field ``bundle`` (``stream`` may wrap the file for
        progress). httpx reads file objects in chunks: large bundles never sit in memory."""
        if stream is not None:
            return self._request(
                "POST",
                "submissions/",
                files={"bundle": (path.name, stream, "application/zip")},
                data=data,
            )
        with path.open("rb") as fh:
            return self._request(
                "POST",
                "submissions/",
                files={"bundle": (path.name, fh, "application/zip")},
                data=data,
            )

    def get_json(self, url: str) -> Any:
        """GET a JSON document outside /api/v1/ (e.g. the export manifest)."""
        try:
            response = self._http.get(url, follow_redirects=True)
        except httpx.TransportError as exc:
            raise CliError(
                "network.unreachable", f"Cannot reach {self.server}: {exc}.", exit_code=3
            ) from exc
        if response.status_code >= 400:
            raise _api_error(response)
        return response.json()

    def download(self, url: str, out: Path) -> None:
        try:
            with self._http.stream("GET", url, follow_redirects=True) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _api_error(response)
                with out.open("wb") as fh:
                    for chunk in response.iter_bytes(1024 * 1024):
                        fh.write(chunk)
        except httpx.TransportError as exc:
            raise CliError("network.unreachable", f"Download failed: {exc}", 3) from exc


def _api_error(response: httpx.Response) -> CliError:
    try:
        error = response.json().get("error", {})
    except ValueError:
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
