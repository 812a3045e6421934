"""Direct-to-S3 uploads: start (presigned part URLs), resume, finalise, abort."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import DirectUpload
from ..services import uploads
from ..services.supersede import target_for_upload
from .errors import RetryableUnavailable
from .serializers import (
    DirectUploadSerializer,
    SubmissionSerializer,
    UploadConfigSerializer,
    UploadFinaliseSerializer,
    UploadStartSerializer,
)
from .throttles import UPLOAD_THROTTLES
from .views import UPLOAD, CanSubmit, member_organisation


def _state(
    upload: DirectUpload, parts: list[uploads.PresignedPart] | None = None
) -> dict[str, Any]:
    done = uploads.uploaded_parts(upload)
    if parts is None and upload.state == DirectUpload.State.OPEN:
        have = {p["part_number"] for p in done}
        missing = [n for n in range(1, uploads.part_count(upload) + 1) if n not in have]
        parts = uploads.presign_parts(upload, missing) if missing else []
    return {
        "id": upload.id,
        "state": upload.state,
        "size": upload.size,
        "part_size": upload.part_size,
        "part_count": uploads.part_count(upload),
        "expires_at": upload.expires_at,
        "parts": [vars(p) for p in parts or []],
        "uploaded_parts": done,
    }


class DirectUploadStart(RetryableUnavailable, APIView):
    """Bundles above ``threshold_bytes`` go straight to S3: start here, PUT each part's bytes to
    its presigned URL, then POST ``finalise``. Resume with GET ``uploads/<id>/``."""

    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = UPLOAD

    def get_throttles(self) -> list[object]:
        if self.request.method == "POST":
            return [throttle() for throttle in UPLOAD_THROTTLES]
        return super().get_throttles()

    @extend_schema(responses=UploadConfigSerializer, operation_id="uploads_config")
    def get(self, request: Request) -> Response:
        return Response(
            {
                "direct_uploads": uploads.direct_uploads_available(),
                "threshold_bytes": settings.IPWBOARD_DIRECT_UPLOAD_THRESHOLD_BYTES,
                "max_bytes": settings.IPWBOARD_MAX_UPLOAD_BYTES,
            }
        )

    @extend_schema(request=UploadStartSerializer, responses={201: DirectUploadSerializer})
    def post(self, request: Request) -> Response:
        form = UploadStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload, parts = uploads.start_direct_upload(
            request.user,
            filename=form.validated_data["filename"],
            size=form.validated_data["size"],
        )
        data = DirectUploadSerializer(_state(upload, parts)).data
        return Response(data, status=status.HTTP_201_CREATED)


def _own_upload(request: Request, pk: str) -> DirectUpload:
    return get_object_or_404(DirectUpload.objects.filter(owner=request.user), pk=pk)


class DirectUploadDetail(RetryableUnavailable, APIView):
    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = UPLOAD

    @extend_schema(responses=DirectUploadSerializer)
    def get(self, request: Request, pk: str) -> Response:
        """Resume: the parts S3 already holds, and fresh presigned URLs for the missing ones."""
        upload = _own_upload(request, pk)
        return Response(DirectUploadSerializer(_state(upload)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        uploads.abort_direct_upload(_own_upload(request, pk), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DirectUploadFinalise(RetryableUnavailable, APIView):
    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = UPLOAD

    @extend_schema(request=UploadFinaliseSerializer, responses={201: SubmissionSerializer})
    def post(self, request: Request, pk: str) -> Response:
        form = UploadFinaliseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = _own_upload(request, pk)
        organisation = member_organisation(request, form.validated_data["organisation"])
        replaces = target_for_upload(request.user, form.validated_data["supersedes"])
        submission = uploads.finalise_direct_upload(upload, request.user, organisation, replaces)
        data = SubmissionSerializer(submission, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)
