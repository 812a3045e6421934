"""API views: thin wrappers that authenticate, authorise and call a service."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluator.errors import BundleError

from .. import codes, services
from ..models import ApiToken, DatasetVersion, Organisation, SigningKey, Submission
from ..services.accounts import upload_refusal
from ..services.identity import KeyRegistrationError
from ..services.supersede import target_for_upload
from .auth import token_scope
from .errors import RetryableUnavailable, error_response
from .filters import SubmissionFilter
from .serializers import (
    SUPERSEDES_HELP,
    ChallengeSerializer,
    DatasetVersionSerializer,
    KeyRegisterSerializer,
    SigningKeySerializer,
    SubmissionSerializer,
)
from .throttles import CHALLENGE_THROTTLES, UPLOAD_THROTTLES
from .upload_limit import exceeded, too_large_message

UPLOAD = "upload a bundle"  # the ``write_action`` of every view that takes a bundle


class CanSubmit(permissions.BasePermission):
    """Writes need a 'submit' token (or a logged-in browser session).

    The refusal names what was refused: a view says what its writes do in ``write_action``
    ("register a signing key"), so a read token registering a key is not told about uploads."""

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        action = getattr(view, "write_action", "make changes")
        if token_scope(request) not in (None, ApiToken.Scope.SUBMIT):
            self.message = (
                f"This API token has the 'read' scope, which cannot {action}; "
                "create a token with the 'submit' scope for that."
            )
            return False
        if action == UPLOAD and request.method == "POST":
            refusal = upload_refusal(request.user)
            if refusal is not None:
                self.message, self.code = refusal, codes.EMAIL_UNVERIFIED
                return False
        return True


def member_organisation(request: Request, slug: str) -> Organisation | None:
    """The organisation ``slug`` if the user belongs to it; refuse anything else."""
    if not slug:
        return None
    organisation = Organisation.objects.filter(slug=slug, members=request.user).first()
    if organisation is None:
        raise services.ActionError(
            "organisation.not_member", f"You are not a member of an organisation {slug!r}.", 403
        )
    return organisation


def _submission_queryset() -> QuerySet[Submission]:
    return Submission.objects.select_related(
        "owner", "model", "hardware", "dataset_version__dataset", "current_evaluation"
    )


class SubmissionListCreate(RetryableUnavailable, generics.ListAPIView):
    serializer_class = SubmissionSerializer
    write_action = UPLOAD
    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    parser_classes = [MultiPartParser]
    filterset_class = SubmissionFilter

    def get_queryset(self) -> QuerySet[Submission]:
        """Your own submissions (staff: everyone's), newest first."""
        qs = _submission_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return qs.none()
        return qs if self.request.user.is_staff else qs.filter(owner=self.request.user)

    def get_throttles(self) -> list[object]:
        if self.request.method == "POST":
            return [throttle() for throttle in UPLOAD_THROTTLES]
        return super().get_throttles()

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "BundleUpload",
                {
                    "bundle": serializers.FileField(),
                    "organisation": serializers.SlugField(required=False),
                    "supersedes": serializers.UUIDField(required=False, help_text=SUPERSEDES_HELP),
                },
            )
        },
        responses={201: SubmissionSerializer},
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("bundle")
        if exceeded(request):  # the upload handler stopped reading at the limit
            raise BundleError(
                codes.UPLOAD_TOO_LARGE,
                too_large_message(
                    "The uploaded bundle is larger than the limit (reading stopped there)"
                ),
            )
        if upload is None:
            return error_response(
                codes.UPLOAD_MISSING, "Send the bundle as multipart field 'bundle'.", 400
            )
        organisation = member_organisation(request, request.data.get("organisation") or "")
        replaces = target_for_upload(request.user, request.data.get("supersedes") or "")
        # A BundleError (empty, too large, replay) is rendered with its code by the handler.
        submission = services.create_submission(
            owner=request.user,
            stream=upload.file,
            filename=upload.name or "bundle.ipwb",
            organisation=organisation,
            replaces=replaces,
        )
        data = SubmissionSerializer(submission, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class SubmissionDetail(generics.RetrieveAPIView):
    serializer_class = SubmissionSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self) -> QuerySet[Submission]:
        """Public submissions (the one rule), your own, and for staff everything."""
        return _submission_queryset().visible_to(self.request.user)


class SigningKeyListCreate(APIView):
    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = "register a signing key"

    @extend_schema(responses=SigningKeySerializer(many=True))
    def get(self, request: Request) -> Response:
        keys = SigningKey.objects.filter(owner=request.user)
        return Response(SigningKeySerializer(keys, many=True).data)

    @extend_schema(request=KeyRegisterSerializer, responses={201: SigningKeySerializer})
    def post(self, request: Request) -> Response:
        form = KeyRegisterSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            key = services.register_signing_key(
                request.user, form.validated_data["public_key"], form.validated_data["name"]
            )
        except KeyRegistrationError as error:
            return error_response(error.code, error.message, 400)
        return Response(SigningKeySerializer(key).data, status=status.HTTP_201_CREATED)


class ChallengeCreate(APIView):
    permission_classes = [permissions.IsAuthenticated, CanSubmit]
    write_action = "request a challenge"
    throttle_classes = CHALLENGE_THROTTLES

    @extend_schema(request=None, responses={201: ChallengeSerializer})
    def post(self, request: Request) -> Response:
        challenge = services.issue_challenge(request.user)
        return Response(ChallengeSerializer(challenge).data, status=status.HTTP_201_CREATED)


class DatasetVersionList(generics.ListAPIView):
    serializer_class = DatasetVersionSerializer
    permission_classes = [permissions.AllowAny]
    queryset = DatasetVersion.objects.select_related("dataset")
