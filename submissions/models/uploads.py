"""Direct-to-S3 uploads: a multipart upload the client sends straight to the bucket, then finalises."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class DirectUpload(models.Model):
    """One presigned multipart upload. Its id becomes the Submission's id when it is finalised.

    The object lives at ``key`` (``bundles/<id>.ipwb``) from the moment S3 completes it, so
    finalising moves no bytes: the server only streams the object once to hash it.
    """

    class State(models.TextChoices):
        OPEN = "open"
        COMPLETED = "completed"
        ABORTED = "aborted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="direct_uploads"
    )
    key = models.CharField(max_length=300)
    s3_upload_id = models.CharField(max_length=1024)
    filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField()
    part_size = models.BigIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    submission = models.OneToOneField(
        "Submission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} ({self.state})"
