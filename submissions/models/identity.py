"""Who submits: organisations, Ed25519 signing keys, API tokens and one-time challenges."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models


class Organisation(models.Model):
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="organisations")

    def __str__(self) -> str:
        return self.name


class SigningKey(models.Model):
    """A submitter's Ed25519 public key.

    When a key stops verifying is decided by the one thing the submitter cannot forge: when this
    server received the bundle (``Submission.created_at``), never a time the bundle carries. A
    retired key verifies bundles received before ``retired_at``; a revoked key only bundles
    received before ``compromised_at`` (the owner's estimate of when it leaked). A challenge does
    not help: it proves a bundle is not older than the challenge, never that it was signed before
    a compromise (whoever holds a leaked key can sign with an unused challenge issued earlier).
    """

    class State(models.TextChoices):
        ACTIVE = "active"
        RETIRED = "retired"
        REVOKED = "revoked"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signing_keys"
    )
    name = models.CharField(max_length=100)
    public_key = models.CharField(max_length=100, help_text="Base64 of the raw 32-byte key.")
    fingerprint = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    compromised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.fingerprint})"

    @property
    def valid_until(self) -> datetime | None:
        """Bundles received at or after this moment do not verify (None: no such moment)."""
        if self.state == self.State.RETIRED:
            return self.retired_at
        if self.state == self.State.REVOKED:
            return self.compromised_at
        return None

    def verifies_received_at(self, received_at: datetime) -> bool:
        """Whether a bundle this server received at ``received_at`` may verify with this key."""
        if self.state == self.State.ACTIVE:
            return True
        until = self.valid_until
        return until is not None and received_at < until


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once at creation."""

    class Scope(models.TextChoices):
        READ = "read"
        SUBMIT = "submit"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.SUBMIT)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a token.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Challenge(models.Model):
    """A one-time server nonce a bundle can carry to prove it was made after we issued it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="challenges"
    )
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class VerifiedEmail(models.Model):
    """An address its user proved to receive (the link mailed at sign-up). Verified means this
    row's ``email`` is the user's current one: changing the address needs a new proof."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verified_email"
    )
    email = models.EmailField()
    verified_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.email
