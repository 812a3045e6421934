"""API endpoints for a submitter's own things: withdrawals, key retire/revoke, API tokens."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..models import ApiToken, SigningKey
from .serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    KeyRevokeSerializer,
    SigningKeySerializer,
    SubmissionSerializer,
    WithdrawSerializer,
)
from .views import CanSubmit, _submission_queryset


class SubmissionWithdraw(APIView):
    """Take your submission off the board. Its permalink keeps a public tombstone."""

    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = "withdraw a submission"

    @extend_schema(request=WithdrawSerializer, responses={200: SubmissionSerializer})
    def post(self, request: Request, pk: str) -> Response:
        form = WithdrawSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        # Others' submissions are 404, not 403: their existence is not ours to confirm.
        submission = get_object_or_404(_submission_queryset().filter(owner=request.user), pk=pk)
        services.withdraw_submission(submission, request.user, form.validated_data["reason"])
        submission.refresh_from_db()
        return Response(SubmissionSerializer(submission, context={"request": request}).data)


def _own_key(request: Request, pk: int) -> SigningKey:
    return get_object_or_404(SigningKey.objects.filter(owner=request.user), pk=pk)


class SigningKeyRetire(APIView):
    """Retire a key: bundles the server received before now still verify, later ones do not."""

    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = "retire a signing key"

    @extend_schema(request=None, responses={200: SigningKeySerializer})
    def post(self, request: Request, pk: int) -> Response:
        key = services.retire_signing_key(_own_key(request, pk), request.user)
        return Response(SigningKeySerializer(key).data)


class SigningKeyRevoke(APIView):
    """Revoke a compromised key: only bundles the server received before ``compromised_at``
    still verify (``SigningKey.verifies_received_at``)."""

    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = "revoke a signing key"

    @extend_schema(request=KeyRevokeSerializer, responses={200: SigningKeySerializer})
    def post(self, request: Request, pk: int) -> Response:
        form = KeyRevokeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        key = services.revoke_signing_key(
            _own_key(request, pk), request.user, form.validated_data["compromised_at"]
        )
        return Response(SigningKeySerializer(key).data)


class _SessionOnly:
    """Token management needs a logged-in browser session: a leaked API token must not be able to
    mint more tokens. Session auth in DRF also enforces CSRF on writes."""

    authentication_classes = [authentication.SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]


class ApiTokenListCreate(_SessionOnly, APIView):
    @extend_schema(responses=ApiTokenSerializer(many=True))
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(owner=request.user)
        return Response(ApiTokenSerializer(tokens, many=True).data)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        token, secret = services.create_api_token(
            request.user, form.validated_data["name"], form.validated_data["scope"]
        )
        data = {**ApiTokenSerializer(token).data, "secret": secret}
        return Response(data, status=status.HTTP_201_CREATED)


class ApiTokenRevoke(_SessionOnly, APIView):
    def get_queryset(self) -> QuerySet[ApiToken]:
        return ApiToken.objects.filter(owner=self.request.user)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        token = get_object_or_404(self.get_queryset(), pk=pk)
        services.revoke_api_token(token, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
