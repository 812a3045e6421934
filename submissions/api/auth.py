"""Token authentication: ``Authorization: Token ipwb_...`` (or ``Bearer``); only hashes are stored."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from ..models import ApiToken
from ..services import authenticate_token


class TokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use 'Token <your token>'.", code="auth.malformed"
            )
        token = authenticate_token(header[1])
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Invalid or revoked API token; create a new one on your settings page.",
                code="auth.token_invalid",
            )
        return token.owner, token

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api"'


def token_scope(request: Request) -> str | None:
    """The scope of the token used, or None for session (browser) authentication."""
    auth = getattr(request, "auth", None)
    return auth.scope if isinstance(auth, ApiToken) else None


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Token ipwb_...`` in the OpenAPI schema."""

    target_class = "submissions.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token ipwb_...` (create tokens on your account page).",
        }
